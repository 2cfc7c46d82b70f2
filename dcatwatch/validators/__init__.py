"""Validation: link checks, data checks with frictionless, metadata rules (DCAT-AP-SE).

Validators read the store the harvester filled and write their own tables
(:mod:`dcatwatch.store.validation_models`); they never fetch catalogues. Every network
access goes through :class:`~dcatwatch.http.client.HttpClient` (politeness, caps, SSRF
guard). The entry point is :func:`dcatwatch.validators.service.validate`.
"""
