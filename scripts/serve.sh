#!/bin/sh
# Serve the site with gunicorn and run the task workers beside it (each also runs the periodic
# jobs: scheduled posts, bulletins, mail retries); Ctrl-C stops them all.
set -eu
PIDS=""
i=0
while [ "$i" -lt "${TASK_WORKERS:-2}" ]; do
    "$BIN/python" manage.py worker --interval 1 --no-reload &
    PIDS="$PIDS $!"
    i=$((i + 1))
done
trap 'kill $PIDS 2>/dev/null || true' EXIT INT TERM
echo
echo "  Yulan is at http://$HOST:$PORT/"
echo "  Staff demo login: editor@yulan.example / yulan-demo-2026 (also admin@, coordinator@, responder@, resident@)"
echo
"$BIN/gunicorn" yulan.wsgi:application --bind "$HOST:$PORT" --workers "$WEB_WORKERS" --access-logfile - 
