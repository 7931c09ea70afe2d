"""Start Bigan on the sample corpus: bring the knowledge base up to date, then open interactive search.

Until the web app exists this is the terminal front end; `python app.py` is what `make run` runs.
"""
import sys

from assistant.cli import main

if __name__ == "__main__":
    status = main(["index"])
    sys.exit(status or main(["shell"]))
