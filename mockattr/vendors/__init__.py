"""One module (or package) per vendor, each exposing ``VENDOR`` (see ``mockattr.vendor``); vendors of the
folders in ``MOCKATTR_VENDOR_PATH`` are found here too (``mockattr.discovery``)."""

from mockattr.discovery import vendor_module_dirs

__path__ += vendor_module_dirs()
