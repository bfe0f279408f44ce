"""What the demo page shows: the catalogue of components, the kinds of incidents that
happen to them and their wording, planned maintenance, a postmortem, incident templates,
made-up subscriber names, and the demo operator's login. Only data; ``demo.builder``
turns it into rows.
"""

from dataclasses import dataclass

from components.models import Component
from incidents.models import Incident

CS = Component.Status
S = Incident.Status

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-operator"
DEMO_EMAIL = "demo@example.com"
SEED = 20240917
HISTORY_DAYS = 730

# (group name, description, [(component, description), ...]); ungrouped ones under None.
CATALOGUE = [
    (
        "Web app",
        "The dashboard at app.example.com and everything you click in it.",
        [
            ("Dashboard", "Projects, deploy logs and settings in the browser."),
            ("Login & SSO", "Sign-in with password, GitHub, Google and SAML single sign-on."),
            ("Billing portal", "Invoices, payment methods and plan changes."),
            ("Search", "Search across projects, logs and documentation."),
        ],
    ),
    (
        "API",
        "Programmatic access for scripts, the CLI and integrations.",
        [
            ("REST API", "api.example.com/v2: the API the CLI and the dashboard use."),
            ("GraphQL API", "api.example.com/graphql for custom integrations."),
            ("Webhooks", "Outgoing event notifications to your endpoints."),
            ("API authentication", "Personal access tokens and OAuth apps."),
        ],
    ),
    (
        "Builds & deploys",
        "From git push to a live deployment.",
        [
            ("Build pipeline", "Build containers that run your build commands."),
            ("Deploy pipeline", "Rolling out new versions to the edge and to regions."),
            ("Artifact storage", "Build caches and deploy artifacts."),
            ("Preview environments", "A live URL for every pull request."),
        ],
    ),
    (
        "Hosting & edge",
        "Serving your sites and applications to visitors.",
        [
            ("CDN", "Static assets served from 40 edge locations."),
            ("DNS", "Authoritative DNS for custom domains."),
            ("TLS certificates", "Automatic certificate issuance and renewal."),
            ("Edge functions", "Code that runs at the edge, close to visitors."),
        ],
    ),
    (
        "Data services",
        "Managed databases and storage attached to your projects.",
        [
            ("Managed Postgres", "Primary databases, replicas and connection pooling."),
            ("Redis cache", "Managed Redis for caching and queues."),
            ("Object storage", "S3-compatible buckets."),
            ("Backups", "Nightly snapshots and point-in-time recovery."),
        ],
    ),
    (
        "Integrations",
        "What we send to other tools on your behalf.",
        [
            ("Email notifications", "Deploy, billing and security emails."),
            ("Slack app", "Deploy notifications and slash commands in Slack."),
            ("GitHub app", "Commit statuses, checks and deploy comments on GitHub."),
            ("PagerDuty integration", "Alerts routed to your on-call."),
        ],
    ),
    (None, "", [("Support portal", "help.example.com: tickets and live chat with our team.")]),
]

# Components younger than the history: (name, days ago it started).
LATER_START = {"Edge functions": 270, "Preview environments": 420}


@dataclass(frozen=True)
class Scenario:
    """A kind of incident that happens again and again, in several wordings."""

    components: tuple[str, ...]
    names: tuple[str, ...]
    symptom: str
    causes: tuple[str, ...]
    worst: str  # the component status at the height of it
    fix: str


SCENARIOS = [
    Scenario(
        ("REST API", "GraphQL API"),
        ("Elevated API error rates", "Increased 5xx responses from the API", "API errors"),
        "an elevated rate of 5xx responses from the API",
        (
            "a database connection pool exhausted after a configuration change",
            "a faulty deploy of the API service",
            "an overloaded cache cluster in us-east",
        ),
        CS.PARTIAL_OUTAGE,
        "We rolled back the change and added capacity to the connection pool.",
    ),
    Scenario(
        ("REST API",),
        ("Slow API responses", "Increased API latency"),
        "API requests taking several seconds to complete",
        ("a slow query introduced by a recent release", "noisy neighbours on a database host"),
        CS.DEGRADED_PERFORMANCE,
        "The slow query has been fixed and latency is back to normal.",
    ),
    Scenario(
        ("Webhooks",),
        ("Delayed webhook deliveries", "Webhook deliveries backlogged"),
        "webhook deliveries arriving with a delay of up to 20 minutes",
        ("a stuck consumer in the delivery queue", "a surge of events from one region"),
        CS.DEGRADED_PERFORMANCE,
        "The backlog has been processed; all queued webhooks were delivered.",
    ),
    Scenario(
        ("Build pipeline",),
        ("Builds stuck in queue", "Delayed build starts", "Builds failing to start"),
        "builds waiting in the queue for longer than usual",
        (
            "an autoscaling failure in our build cluster",
            "exhausted capacity after a spike in builds",
            "an expired credential used to pull build images",
        ),
        CS.PARTIAL_OUTAGE,
        "Build capacity has been restored and the queue has drained.",
    ),
    Scenario(
        ("Deploy pipeline", "Build pipeline"),
        ("Deploys failing", "Deployments not going live"),
        "deploys failing at the 'Publishing' step",
        ("a failed rollout of our deploy orchestrator", "a permissions change on artifact storage"),
        CS.MAJOR_OUTAGE,
        "The orchestrator has been rolled back; failed deploys can be retried.",
    ),
    Scenario(
        ("Dashboard",),
        ("Dashboard not loading", "Dashboard errors", "Slow dashboard"),
        "the dashboard failing to load for some users",
        ("a bad frontend release", "an expired certificate on an internal service"),
        CS.PARTIAL_OUTAGE,
        "A fixed version of the dashboard is live.",
    ),
    Scenario(
        ("Login & SSO",),
        ("Login failures", "SSO sign-in errors", "Users unable to sign in"),
        "users unable to sign in with SAML single sign-on",
        ("an outage at our identity provider", "a clock drift on the authentication hosts"),
        CS.MAJOR_OUTAGE,
        "Sign-in works again for all methods.",
    ),
    Scenario(
        ("CDN",),
        ("Elevated CDN errors in Europe", "CDN latency in Asia-Pacific", "Increased CDN errors"),
        "visitors seeing errors or slow responses from some edge locations",
        ("a network issue at an upstream provider", "a bad configuration push to edge nodes"),
        CS.PARTIAL_OUTAGE,
        "Traffic has been routed away from the affected locations and they have recovered.",
    ),
    Scenario(
        ("DNS",),
        ("DNS resolution failures", "Intermittent DNS errors"),
        "custom domains intermittently failing to resolve",
        ("a DDoS attack against our nameservers", "a faulty zone update"),
        CS.MAJOR_OUTAGE,
        "DNS resolution is healthy; we have added filtering capacity.",
    ),
    Scenario(
        ("TLS certificates",),
        ("Delayed certificate issuance", "Certificate renewals failing"),
        "new custom domains waiting longer than usual for a certificate",
        ("rate limiting by our certificate authority", "a bug in the renewal scheduler"),
        CS.DEGRADED_PERFORMANCE,
        "All pending certificates have been issued.",
    ),
    Scenario(
        ("Managed Postgres",),
        ("Database connectivity issues", "Managed Postgres unavailable in eu-west"),
        "some databases refusing new connections",
        ("a failed storage volume on a database host", "a failover that did not complete"),
        CS.MAJOR_OUTAGE,
        "All databases are reachable; the failover has completed.",
    ),
    Scenario(
        ("Redis cache",),
        ("Redis latency", "Redis connection errors"),
        "increased latency and timeouts on managed Redis",
        ("a memory pressure event on a cluster", "a network partition between zones"),
        CS.DEGRADED_PERFORMANCE,
        "Latency is back to normal on all clusters.",
    ),
    Scenario(
        ("Object storage", "Artifact storage"),
        ("Object storage errors", "Elevated errors on uploads"),
        "uploads to object storage failing with 503 errors",
        ("a metadata service overload", "a failed disk replacement in one zone"),
        CS.PARTIAL_OUTAGE,
        "Uploads and downloads succeed again.",
    ),
    Scenario(
        ("Email notifications",),
        ("Delayed notification emails", "Emails not being delivered"),
        "deploy and billing emails arriving late",
        ("throttling by our email provider", "a misconfigured sending domain"),
        CS.DEGRADED_PERFORMANCE,
        "Queued emails have been delivered.",
    ),
    Scenario(
        ("Slack app", "GitHub app"),
        ("GitHub checks not updating", "Slack notifications delayed"),
        "commit statuses and Slack messages not being posted",
        ("an API rate limit at the third party", "an expired app installation token"),
        CS.DEGRADED_PERFORMANCE,
        "Notifications are flowing again; missed ones have been re-sent.",
    ),
    Scenario(
        ("Edge functions",),
        ("Edge function cold starts", "Edge functions returning errors"),
        "edge functions timing out on their first invocation",
        ("a regression in the function runtime", "a full disk on runtime hosts"),
        CS.PARTIAL_OUTAGE,
        "The runtime has been patched and invocations succeed.",
    ),
    Scenario(
        ("Preview environments",),
        ("Preview URLs not updating", "Preview deployments failing"),
        "preview environments not reflecting the latest commit",
        ("a stuck job in the preview scheduler",),
        CS.DEGRADED_PERFORMANCE,
        "Previews update on push again.",
    ),
    Scenario(
        ("Billing portal",),
        ("Billing portal errors", "Unable to update payment methods"),
        "errors when updating payment methods",
        ("an outage at our payment processor",),
        CS.PARTIAL_OUTAGE,
        "Payment method updates work again.",
    ),
    Scenario(
        ("Search",),
        ("Search results incomplete", "Search unavailable"),
        "search returning incomplete results",
        ("a lagging index rebuild",),
        CS.DEGRADED_PERFORMANCE,
        "The index has caught up.",
    ),
    Scenario(
        ("Support portal",),
        ("Support portal unavailable", "Live chat unavailable"),
        "the support portal not loading",
        ("an outage at our help desk provider",),
        CS.MAJOR_OUTAGE,
        "The support portal is available again.",
    ),
]

# What each step of an incident says: {symptom}, {cause} and {fix} come from its
# scenario, {components} names the components it touches. Keyed by the step's status;
# "_again" for a second update with the same status.
STEP_BODIES = {
    "opening": "We are investigating reports of {symptom}. "
    "We will post an update within 30 minutes.",
    "investigating": "We are continuing to investigate. Affected: {components}. "
    "Next update in 30 minutes.",
    "identified": "The issue has been identified: {cause}. A fix is being implemented.",
    "identified_again": "The fix is being rolled out region by region.",
    "monitoring": "A fix has been deployed and we are monitoring the results.",
    "monitoring_again": "Error rates are back to normal. We continue to monitor.",
    "resolved": "This incident has been resolved. {fix}",
}

MAINTENANCES = [
    (
        ("Managed Postgres", "Backups"),
        "Managed Postgres minor version upgrade",
        "We will apply the latest minor version of PostgreSQL. Each database restarts once; "
        "expect up to 60 seconds of refused connections.",
    ),
    (
        ("Build pipeline", "Deploy pipeline"),
        "Build infrastructure migration",
        "We are moving build runners to new hardware. Builds started during the window may "
        "queue for a few minutes.",
    ),
    (
        ("DNS",),
        "DNS provider maintenance",
        "Our secondary DNS provider is performing network maintenance. No impact is expected.",
    ),
    (
        ("Dashboard", "Login & SSO"),
        "Dashboard and authentication upgrade",
        "We are upgrading the dashboard's backend. You may be signed out once.",
    ),
    (
        ("Redis cache",),
        "Redis cluster rebalancing",
        "Clusters will be rebalanced across zones; brief latency spikes are possible.",
    ),
    (
        ("Billing portal",),
        "Billing system maintenance",
        "Invoices and payment method changes are unavailable during the window.",
    ),
]

POSTMORTEM = """### Summary

On {date}, {symptom} for {duration}. {impact_sentence}

### Timeline (UTC)

- **{t0}** — Automated alerts fired for {component}; the on-call engineer started investigating.
- **{t1}** — We identified {cause}.
- **{t2}** — A fix was deployed and we began monitoring.
- **{t3}** — The incident was resolved.

### Root cause

The incident was caused by {cause}. Our safeguards did not catch it because the affected
path was not covered by our canary checks.

### What we are changing

1. Adding a canary check for this path, so that a bad change is rolled back automatically.
2. Alerting earlier, on the symptom customers see rather than on internal metrics.
3. Writing a runbook so that the next on-call engineer can mitigate in minutes.

We are sorry for the disruption this caused.
"""

TEMPLATES = [
    (
        "API errors",
        "Elevated API error rates",
        "investigating",
        CS.PARTIAL_OUTAGE,
        ("REST API", "GraphQL API"),
        "We are investigating an elevated rate of errors from the API. "
        "We will post an update within 30 minutes.",
    ),
    (
        "Builds delayed",
        "Delayed build starts",
        "investigating",
        CS.DEGRADED_PERFORMANCE,
        ("Build pipeline",),
        "Builds are taking longer than usual to start. We are adding capacity.",
    ),
    (
        "Third-party outage",
        "Degraded service due to a provider outage",
        "identified",
        CS.DEGRADED_PERFORMANCE,
        (),
        "One of our providers is having an outage that affects this service. We are "
        "following their progress and will update this page.",
    ),
    (
        "Database failover",
        "Database connectivity issues",
        "identified",
        CS.MAJOR_OUTAGE,
        ("Managed Postgres",),
        "A database host failed and we are failing over to a replica. Connections may be "
        "refused for a few minutes.",
    ),
]

FIRST_NAMES = "alex sam jordan taylor morgan casey riley jamie avery quinn robin kim lee "
FIRST_NAMES += "maria jose wei anna li omar fatima yuki noah emma lucas mia"
LAST_NAMES = "smith garcia chen mueller rossi novak silva kowalski tanaka berg olsen dubois "
LAST_NAMES += "ivanova patel khan nguyen jensen costa moreau fischer"
DOMAINS = ["example.com", "example.org", "example.net"]
