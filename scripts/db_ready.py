"""Exit 0 if a PostgreSQL server answers at the URL given, 1 if not."""

import sys

import psycopg

try:
    psycopg.connect(sys.argv[1].rsplit("/", 1)[0] + "/postgres", connect_timeout=3).close()
except psycopg.Error:
    sys.exit(1)
