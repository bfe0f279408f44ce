"""The demo page (``manage.py loaddemo``): its data in ``catalogue``, the code that turns
it into rows in ``builder``. The top of the import order: it may use every app."""
