#!/usr/bin/python3
"""python3-libtorrent peer for bench/perf: a seeder or a leecher, on 127.0.0.1 only.

Run with /usr/bin/python3 (Debian's python3-libtorrent is only importable there).

Protocol: one JSON object per line on stdout; commands, one per line, on stdin:
  connect <ip> <port>   (seeder) open a connection to a peer, e.g. transmission-cli
  stats                 print {"event": "stats", ...}
  quit                  leave (so does end of stdin: the harness died)

Network safety: listening and outgoing sockets bound to 127.0.0.1, TCP only, DHT, LSD, UPnP,
NAT-PMP off, and no default plugins (so no ut_pex). Every loop is bounded by --max-seconds.
"""

import argparse
import json
import os
import select
import sys
import time

import libtorrent as lt

LOOPBACK = "127.0.0.1"


def say(event, **fields):
    fields["event"] = event
    fields["t"] = time.time() * 1000.0
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def session_settings(mode, port):
    # A seeder must never be the bottleneck: libtorrent's own high-throughput preset. A leecher
    # gets libtorrent's defaults, as an application embedding it would.
    settings = lt.high_performance_seed() if mode == "seed" else lt.default_settings()
    settings.update(
        {
            "listen_interfaces": f"{LOOPBACK}:{port}",
            "outgoing_interfaces": LOOPBACK,
            "enable_dht": False,
            "enable_lsd": False,
            "enable_upnp": False,
            "enable_natpmp": False,
            # uTP over loopback crawls (DESIGN.md): TCP only.
            "enable_outgoing_utp": False,
            "enable_incoming_utp": False,
            # Every peer shares 127.0.0.1.
            "allow_multiple_connections_per_ip": True,
            "alert_mask": lt.alert.category_t.status_notification
            | lt.alert.category_t.error_notification
            | lt.alert.category_t.peer_notification
            | lt.alert.category_t.connect_notification,
            "announce_to_all_trackers": True,
        }
    )
    return settings


def pending_lines(buffer):
    return [line.decode() for line in buffer.split(b"\n")[:-1]]


def handle_commands(lines, handle):
    """Runs complete command lines; False once told to quit."""
    for line in lines:
        parts = line.split()
        if parts[:1] == ["quit"]:
            return False
        if parts[:1] == ["connect"] and len(parts) == 3 and parts[1] == LOOPBACK:
            handle.connect_peer((parts[1], int(parts[2])))
        elif parts[:1] == ["stats"]:
            st = handle.status()
            say("stats", uploaded=st.total_payload_upload, downloaded=st.total_payload_download, peers=st.num_peers)
    return True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["seed", "leech"])
    parser.add_argument("--torrent", required=True)
    parser.add_argument("--save-path", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--max-seconds", type=float, default=1800.0)
    args = parser.parse_args()

    deadline = time.monotonic() + args.max_seconds
    parent = os.getppid()
    # flags=0: no default plugins (ut_pex, ut_metadata, smart_ban) and nothing started by default.
    ses = lt.session(session_settings(args.mode, args.port), 0)
    if not ses.is_listening() or ses.listen_port() != args.port:
        say("error", message=f"not listening on {LOOPBACK}:{args.port}")
        return 1

    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(args.torrent)
    params.save_path = args.save_path
    # No seed_mode: a seeder checks its data first, so it never hashes lazily during a measurement.
    params.flags = lt.torrent_flags.default_flags & ~lt.torrent_flags.auto_managed & ~lt.torrent_flags.paused
    handle = ses.add_torrent(params)
    say("added", port=args.port, pid=os.getpid())

    announced_ready = False
    completed = False
    pending = b""
    while time.monotonic() < deadline:
        if os.getppid() != parent:
            break  # the harness is gone
        ses.wait_for_alert(50)
        for alert in ses.pop_alerts():
            if isinstance(alert, lt.torrent_error_alert) or isinstance(alert, lt.file_error_alert):
                say("error", message=alert.message())
            elif isinstance(
                alert, (lt.peer_connect_alert, lt.peer_disconnected_alert, lt.peer_error_alert, lt.peer_blocked_alert)
            ):
                say("peer", message=alert.message())  # for the log of a failed run
        status = handle.status()
        if status.errc.value() != 0:
            say("error", message=status.errc.message())
            return 1
        if args.mode == "seed" and not announced_ready and status.is_seeding:
            announced_ready = True
            say("ready", port=args.port)
        if args.mode == "leech" and not completed and status.is_seeding:
            completed = True
            say("complete", total_done=status.total_done)
        readable, _, _ = select.select([sys.stdin], [], [], 0)
        if readable:
            chunk = os.read(sys.stdin.fileno(), 4096)
            if chunk == b"":
                break  # end of stdin: the harness is gone
            pending += chunk
        if not handle_commands(pending_lines(pending), handle):
            break
        pending = pending[pending.rfind(b"\n") + 1 :]
    ses.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
