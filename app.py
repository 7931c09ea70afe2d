"""Start Bigan: fetch the model if missing, bring the sample KB up to date, serve the web app.

`make run` runs this locally (and opens the browser); a hosting service runs it as is, with
BIGAN_DEMO=1 and BIGAN_SERVER_HOST=0.0.0.0 for the public demo page.
"""
import sys

from assistant.cli import main
from assistant.config import get_settings

if __name__ == "__main__":
    status = main(["model", "fetch"]) or main(["index"])
    sys.exit(status or main(["serve"] + ([] if get_settings().demo else ["--open"])))
