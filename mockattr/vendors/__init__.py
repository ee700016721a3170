"""One module per vendor, each exposing ``VENDOR`` (see ``mockattr.vendor``)."""
