#!/usr/bin/env bats
# output.bats: how replies reach a socket.  smtpd offers them to the
# socket with send(MSG_DONTWAIT) first (one system call, fd 1 left
# blocking) and leaves the rest to the poll()ed write with its TIMEOUT;
# a client must get every reply in order either way, and one that stops
# reading must not hold a process past TIMEOUT.

load helpers/common

@test "under tcpserver, 200 pipelined commands (EHLO, 198 NOOPs, QUIT): 201 replies, the first 220 and the last 221" {
	start_server
	run "$PY" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
cmds = [b"EHLO client.example\r\n"] + [b"NOOP %d\r\n" % i
    for i in range(198)] + [b"QUIT\r\n"]
s.sendall(b"".join(cmds))
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
lines = [l for l in data.split(b"\r\n") if l[3:4] == b" "]
print(len(lines), lines[0][:3].decode(), lines[-1][:3].decode())
' "$PORT"
	assert_success
	# the greeting, EHLO, 198 NOOPs, QUIT
	assert_output "201 220 221"
}

@test "a client that never reads its replies is dropped after TIMEOUT" {
	start_server TIMEOUT=1
	# Commands as fast as smtpd takes them, never a read: once the
	# socket buffers are full, smtpd cannot write and must give up.
	run "$PY" -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.settimeout(0.2)
chunk = b"NOOP\r\n" * 10000
end = time.time() + 20
while time.time() < end:
    try:
        s.send(chunk)
    except socket.timeout:
        pass
    except OSError:
        print("closed by the server")
        sys.exit(0)
print("still open after 20 s")
sys.exit(1)
' "$PORT"
	assert_success
	assert_output "closed by the server"
	wait_for_log 'unable to write to the client: Connection timed out'
	wait_for_log 'end: '
}
