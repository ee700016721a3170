"""The ceiling for mockattr's stack: a Flask app answering a constant JSON body, on the same werkzeug
threaded server mockattr uses. Usage: python bench/bare_flask.py PORT"""

import sys

from flask import Flask, Response
from werkzeug.serving import make_server

BODY = '{"custom":{"CAC":213,"utmCampaign":"social media 1","pro":true,"channel":"Twitter"}}'

app = Flask("bare")


@app.route("/", defaults={"path": ""}, methods=["GET", "PUT", "POST"])
@app.route("/<path:path>", methods=["GET", "PUT", "POST"])
def constant(path: str) -> Response:
    return Response(BODY, mimetype="application/json")


if __name__ == "__main__":
    make_server("127.0.0.1", int(sys.argv[1]), app, threaded=True).serve_forever()
