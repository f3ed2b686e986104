#!/bin/sh
# Serve the site with gunicorn and run the task worker beside it; Ctrl-C stops both.
set -eu
"$BIN/python" manage.py db_worker --interval 1 &
WORKER=$!
trap 'kill $WORKER 2>/dev/null || true' EXIT INT TERM
echo
echo "  Yulan is at http://$HOST:$PORT/"
echo "  Staff demo login: editor@yulan.example / yulan-demo-2026 (also admin@, coordinator@, responder@, resident@)"
echo
"$BIN/gunicorn" yulan.wsgi:application --bind "$HOST:$PORT" --workers "$WEB_WORKERS" --access-logfile - 
