#!/usr/bin/env python
import os
import sys
from pathlib import Path

CONFIG = Path(__file__).resolve().parent / "config"


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as error:
        if not _raised_by_the_settings(error):
            raise
        # A setting from the environment is missing or wrong, and the message names it: one line for the operator,
        # not a traceback with the message at its foot.
        sys.exit(f"Safar cannot start: {error}")


def _raised_by_the_settings(error):
    frames = []
    tb = error.__traceback__
    while tb is not None:
        frames.append(Path(tb.tb_frame.f_code.co_filename).resolve())
        tb = tb.tb_next
    return bool(frames) and frames[-1].parent == CONFIG


if __name__ == "__main__":
    main()
