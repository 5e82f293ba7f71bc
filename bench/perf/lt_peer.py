#!/usr/bin/python3
"""python3-libtorrent peer for bench/perf: a seeder or a leecher, on 127.0.0.1 only.

Run with /usr/bin/python3 (Debian's python3-libtorrent is only importable there).

Protocol: one JSON object per line on stdout; commands, one per line, on stdin:
  connect <ip> <port>   (seeder) open a connection to a peer, e.g. transmission-cli
  stats                 print {"event": "stats", ...}
  quit                  leave (so does end of stdin: the harness died)

Network safety: listening and outgoing sockets bound to 127.0.0.1, TCP only, DHT, LSD, UPnP,
NAT-PMP off, and no default plugins (so no ut_pex; a leecher adds smart_ban back). Every loop is
bounded by --max-seconds.
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
    # Leecher: also print "first-byte" (first 16 KiB block received, from block_finished_alert)
    # and "prefix" (every piece holding bytes 0..N-1 passed its hash check, piece_finished_alert).
    parser.add_argument("--report-prefix", type=int, default=0)
    # Leecher: stream from byte 0 with libtorrent's sequential download (the torrent flag
    # `sequential_download`, qBittorrent's "download in sequential order"): pieces in index order.
    # Its other streaming tool, set_piece_deadline() on the first pieces, crashed libtorrent 2.0.8
    # here (SIGSEGV, with smart_ban) and cut its throughput in half.
    parser.add_argument("--stream-from-start", action="store_true")
    args = parser.parse_args()

    deadline = time.monotonic() + args.max_seconds
    parent = os.getppid()
    # flags=0: no default plugins (ut_pex, ut_metadata, smart_ban) and nothing started by default.
    settings = session_settings(args.mode, args.port)
    if args.report_prefix > 0:
        settings["alert_mask"] |= lt.alert.category_t.piece_progress_notification | lt.alert.category_t.block_progress_notification
    mask = settings["alert_mask"]
    ses = lt.session(settings, 0)
    if args.mode == "leech":
        # Of libtorrent's default plugins, a leecher gets smart_ban back (it bans the peer whose
        # blocks failed a piece's hash check, not every peer that sent part of it); ut_pex stays off.
        ses.add_extension("smart_ban")
    if not ses.is_listening() or ses.listen_port() != args.port:
        say("error", message=f"not listening on {LOOPBACK}:{args.port}")
        return 1

    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(args.torrent)
    params.save_path = args.save_path
    # No seed_mode: a seeder checks its data first, so it never hashes lazily during a measurement.
    params.flags = lt.torrent_flags.default_flags & ~lt.torrent_flags.auto_managed & ~lt.torrent_flags.paused
    if args.stream_from_start and args.mode == "leech":
        params.flags |= lt.torrent_flags.sequential_download
    handle = ses.add_torrent(params)
    say("added", port=args.port, pid=os.getpid())

    announced_ready = False
    completed = False
    first_block = False
    prefix_pieces = 0
    if args.report_prefix > 0:
        prefix_pieces = min(params.ti.num_pieces(), -(-args.report_prefix // params.ti.piece_length()))
    prefix_have = set()
    # Woken by libtorrent through a pipe when alerts arrive, or by stdin: not wait_for_alert(), whose
    # returned alert can dangle while the network thread grows the queue (SIGSEGV in the binding,
    # seen here with many block alerts).
    alert_read, alert_write = os.pipe()
    os.set_blocking(alert_read, False)
    ses.set_alert_fd(alert_write)
    pending = b""
    while time.monotonic() < deadline:
        if os.getppid() != parent:
            break  # the harness is gone
        readable, _, _ = select.select([sys.stdin, alert_read], [], [], 0.05)
        if alert_read in readable:
            try:
                os.read(alert_read, 4096)
            except BlockingIOError:
                pass
        for alert in ses.pop_alerts():
            if isinstance(alert, lt.torrent_error_alert) or isinstance(alert, lt.file_error_alert):
                say("error", message=alert.message())
            elif isinstance(
                alert, (lt.peer_connect_alert, lt.peer_disconnected_alert, lt.peer_error_alert, lt.peer_blocked_alert)
            ):
                say("peer", message=alert.message())  # for the log of a failed run
            elif prefix_pieces > 0 and isinstance(alert, lt.block_finished_alert) and not first_block:
                first_block = True
                say("first-byte")
                # One alert per 16 KiB block costs this Python loop CPU that counts as libtorrent's: off.
                mask &= ~lt.alert.category_t.block_progress_notification
                ses.apply_settings({"alert_mask": mask})
            elif prefix_pieces > 0 and isinstance(alert, lt.piece_finished_alert):
                if alert.piece_index < prefix_pieces and alert.piece_index not in prefix_have:
                    prefix_have.add(alert.piece_index)
                    if len(prefix_have) == prefix_pieces:
                        say("prefix", bytes=args.report_prefix)
                        mask &= ~lt.alert.category_t.piece_progress_notification
                        ses.apply_settings({"alert_mask": mask})
        status = handle.status()
        if status.errc.value() != 0:
            say("error", message=status.errc.message())
            return 1
        if args.mode == "seed" and not announced_ready and status.is_seeding:
            announced_ready = True
            say("ready", port=args.port)
        if args.mode == "leech" and not completed and status.is_seeding:
            completed = True
            say(
                "complete",
                total_done=status.total_done,
                downloaded=status.total_payload_download,
                failed=status.total_failed_bytes,
                redundant=status.total_redundant_bytes,
            )
        if sys.stdin in readable:
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
