"""Static files storage: hashed names from collectstatic's manifest, or plain names
before collectstatic has run.

Production runs ``collectstatic`` (the hashed, compressed copies in ``STATIC_ROOT``).
``manage.py runserver`` with ``DEBUG`` off (our default) without it used to answer 500 on
every page ("Missing staticfiles manifest entry"); with no manifest at all, templates now
get the plain names, which WhiteNoise serves from the apps' folders
(``WHITENOISE_USE_FINDERS``). An entry missing from an existing manifest is still an
error: that is a real deployment mistake.
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ManifestOrPlainStorage(CompressedManifestStaticFilesStorage):
    def stored_name(self, name: str) -> str:
        if not self.hashed_files:  # no manifest: collectstatic has not run
            return name
        return super().stored_name(name)
