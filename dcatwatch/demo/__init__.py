"""``dcatwatch serve --demo``: example catalogues bundled as package data, served on loopback.

See :mod:`dcatwatch.demo.server`.
"""
