"""The one HTTP client every room uses: timeouts, retries, per-host politeness, size caps,
streaming bodies to disk, conditional GET and the address guard. It knows nothing of catalogues."""
