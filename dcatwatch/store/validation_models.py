"""Tables of the validation room: link checks, data checks and metadata findings."""
