"""An update's body is rendered to sanitised HTML once, when written (IncidentUpdate.body_html),
and the public pages show that rendering: after posting, after an admin's body correction,
and for rows written without save() (bulk loads), which are rendered on the fly."""

from django.template import Context, Template
from django.utils.html import strip_tags

from incidents import services
from incidents.models import IncidentUpdate
from statusportal import limits
from statusportal import markdown as sp_markdown
from statusportal.markdown import render_markdown
from tests.test_admin_incidents import correct_url


def text(response) -> str:
    return " ".join(strip_tags(response.content.decode()).split())


def test_posting_stores_the_sanitised_html_and_pages_show_it(client, open_incident):
    incident = open_incident(body="Errors on **checkout**.<script>alert(1)</script>")
    update = incident.updates.get()
    assert update.body_html == "<p>Errors on <strong>checkout</strong>.</p>"
    page = client.get(f"/incidents/{incident.code}/").content.decode()
    assert "<p>Errors on <strong>checkout</strong>.</p>" in page
    assert "alert(1)" not in page
    # The status page's card shows the same words, without markup.
    assert "Investigating - Errors on checkout." in text(client.get("/"))


def test_an_admin_body_correction_renders_the_new_body_everywhere(
    client, support_user, open_incident
):
    incident = open_incident(name="Checkout errors", body="We are lookign into it.")
    assert "lookign" in text(client.get("/"))  # cached with the typo
    client.force_login(support_user)
    original = incident.updates.get()
    data = {"body": "We are *looking* into it."}
    assert client.post(correct_url(original), data).status_code == 302
    original.refresh_from_db()
    assert original.body == "We are *looking* into it."
    assert original.body_html == "<p>We are <em>looking</em> into it.</p>"
    client.logout()
    incident_page = client.get(f"/incidents/{incident.code}/").content.decode()
    assert "We are <em>looking</em> into it." in incident_page
    past = text(client.get("/")).split("Past incidents", 1)[1]
    assert "Investigating - We are looking into it." in past
    assert "lookign" not in past
    feed = client.get("/history.atom").content.decode()
    assert "&lt;em&gt;looking&lt;/em&gt;" in feed and "lookign" not in feed


def test_saving_only_other_fields_keeps_the_stored_html(open_incident):
    update = open_incident(body="Same *text*.").updates.get()
    IncidentUpdate.objects.filter(pk=update.pk).update(body_html="<p>kept</p>")
    update.refresh_from_db()
    update.save(update_fields=["deliver_notifications"])
    update.refresh_from_db()
    assert update.body_html == "<p>kept</p>"  # not re-rendered: the body did not change


def test_rows_written_without_save_are_rendered_on_the_fly(client, open_incident):
    incident = open_incident(name="Bulk loaded", body="placeholder")
    # A bulk load (COPY, bulk_create, queryset.update) leaves body_html empty.
    IncidentUpdate.objects.filter(incident=incident).update(
        body="Loaded in **bulk**.", body_html=""
    )
    page = client.get(f"/incidents/{incident.code}/").content.decode()
    assert "<p>Loaded in <strong>bulk</strong>.</p>" in page
    assert "Investigating - Loaded in bulk." in text(client.get("/"))


def test_the_brief_text_matches_markdown_striptags_truncatewords(open_incident):
    # The status page used to render `body|markdown|striptags|truncatewords:N`; the
    # `brief` filter must give readers exactly the same text from the stored HTML.
    long = " ".join(f"word{i}" for i in range(70))
    bodies = [
        'Fixed: A & B <b>"quoted"</b> it\'s **bold** [docs](https://example.test/d)',
        "- one\n- two\n\n> quoted\n\n`code` &lt;tag&gt; x&nbsp;y",
        f"Line one\nline two\n\n{long}",
        '[a > b](https://example.test/x "title with > and <") <!-- note --> 1 < 2 > 0',
        "<p onclick='x'>raw <em>html</em></p> <script>bad()</script> `<b>`",
        "",
    ]
    old = Template("{% load status_tags %}{{ body|markdown|striptags|truncatewords:n }}")
    new = Template("{% load status_tags %}{{ update|brief:n }}")
    for body in bodies:
        update = IncidentUpdate(body=body, body_html=render_markdown(body))
        for n in (60, 80, 3):
            expected = old.render(Context({"body": body, "n": n}))
            assert new.render(Context({"update": update, "n": n})) == expected, body


def test_a_postmortem_is_rendered_once_when_saved_and_shown_from_the_stored_html(
    client, open_incident, monkeypatch
):
    incident = open_incident(name="Checkout errors")
    services.resolve(incident)
    services.save_postmortem_draft(incident, body="## Cause\nA *bad* deploy.<script>x()</script>")
    postmortem = services.publish_postmortem(incident)
    assert postmortem.body_html == "<h2>Cause</h2>\n<p>A <em>bad</em> deploy.</p>"

    # Pages and emails read the stored rendering: the parser is not run again.
    monkeypatch.setattr(sp_markdown, "_converter", None)
    page = client.get(f"/incidents/{incident.code}/").content.decode()
    assert "<h2>Cause</h2>\n<p>A <em>bad</em> deploy.</p>" in page
    assert "x()" not in page
    monkeypatch.undo()

    services.save_postmortem_draft(incident, body="## Cause\nA *config* change.")
    postmortem.refresh_from_db()
    assert postmortem.body_html == "<h2>Cause</h2>\n<p>A <em>config</em> change.</p>"


def test_the_postmortem_editor_refuses_a_body_over_its_maximum_and_keeps_the_draft(
    client, admin_user, open_incident
):
    incident = open_incident()
    services.resolve(incident)
    services.save_postmortem_draft(incident, body="The draft.")
    client.force_login(admin_user)
    url = f"/admin/incidents/incident/{incident.pk}/postmortem/"
    too_long = "a" * (limits.MAX_POSTMORTEM_LENGTH + 1)
    response = client.post(url, {"body": too_long, "_preview": "Preview"})
    assert response.status_code == 200
    assert "Ensure this value has at most" in response.content.decode()
    assert incident.postmortem.body == "The draft."
