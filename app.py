"""Start Bigan: fetch the model if missing, bring the sample KB up to date, serve the web app.

`make run` runs this locally (and opens the browser). A hosting service runs it as is: the address
and port it sets the Gradio way (GRADIO_SERVER_NAME, GRADIO_SERVER_PORT) are honoured as well as
BIGAN_SERVER_HOST / BIGAN_SERVER_PORT (assistant/config.py); BIGAN_DEMO=1 makes the public demo page.
"""
import sys

from assistant.cli import main
from assistant.config import get_settings

if __name__ == "__main__":
    status = main(["model", "fetch"]) or main(["index"])
    sys.exit(status or main(["serve"] + ([] if get_settings().demo else ["--open"])))
