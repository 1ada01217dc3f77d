#!/usr/bin/env bash
# ./run.sh demo  — set up (first time) and open the program on a demo database
# ./run.sh test  — set up (first time) and run the checks and the tests
# ./run.sh ARGS  — run the kuaichu command line with ARGS
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/bootstrap.sh
case "${1:-demo}" in
  demo)
    db=$(.venv/bin/python -c "from app import paths; print(paths.data_dir() / 'demo.sqlite')")
    if [ ! -s "$db" ]; then
      .venv/bin/kuaichu --db "$db" demo --demands 3000
    fi
    exec .venv/bin/kuaichu --db "$db"
    ;;
  test)
    .venv/bin/ruff check app tests bench
    QT_QPA_PLATFORM=offscreen exec .venv/bin/python -m pytest
    ;;
  *)
    exec .venv/bin/kuaichu "$@"
    ;;
esac
