"""dcatwatch: harvests, validates and scores Sweden's open-data catalogues."""

__version__ = "0.1.0"
