# Shared by run.sh and client.sh: $WSTEST (the wstest command, see
# README.md here) and free_port.
if [ -z "${WSTEST:-}" ]; then
  # "command -v" is not enough: a pyenv shim is on the PATH even when the
  # active Python has no wstest; ask it to run.
  if wstest --help >/dev/null 2>&1; then
    WSTEST=wstest
  else
    py2=${PYTHON2:-$HOME/.pyenv/versions/2.7.18/bin/python}
    [ -x "$py2" ] || py2=python2
    WSTEST="$py2 $PWD/scripts/autobahn/wstest.py"
  fi
fi

# free_port prints a loopback port nothing listens on.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port waits (up to 30 s) until 127.0.0.1:$1 accepts connections.
wait_port() {
  for _ in $(seq 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}
