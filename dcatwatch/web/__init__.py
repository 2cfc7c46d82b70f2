"""The read-only web view: national, agency and dataset pages, rendered server-side from the
store with the reports' words and macros (Swedish by default, ``?lang=en``), mounted on the
metrics server (:func:`~dcatwatch.web.app.web_routes`)."""
