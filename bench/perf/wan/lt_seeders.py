#!/usr/bin/python3
"""Several python3-libtorrent seeders in one process, for bench/perf/wan-swarm.ts.

Run with /usr/bin/python3 (Debian's python3-libtorrent is only importable there).

  lt_seeders.py CONFIG.json

CONFIG: {"torrent": FILE, "max_seconds": N,
         "seeders": [{"port": P, "save_path": DIR, "upload_rate": BYTES_PER_S}, ...]}

One libtorrent session per seeder, each listening on 127.0.0.1:<port> only, with its own upload
limit. Every session is told it already has every piece (resume data: `have_pieces` all set, no
`seed_mode`), so nothing is hashed at start-up, and what is on disk is served as it is: a seeder
whose save_path holds a copy with flipped bytes serves those bytes (the leecher's SHA-1 check
must catch them). The harness hands it a torrent without an announce URL: seeders announce
nowhere, and never dial out (`seeding_outgoing_connections` off), so they serve only the
connections their relays open.

libtorrent puts 127.0.0.0/8 (and other local networks) in its "local" peer class, which rate
limits do not apply to: each session maps every address to the global class instead, so the
upload limit holds on loopback.

Protocol: JSON lines on stdout ("ready" once every session listens and seeds; "error");
commands on stdin: `stats` (uploaded bytes per seeder), `quit`; end of stdin also ends it.
Network safety: 127.0.0.1 only, TCP only, DHT/LSD/UPnP/NAT-PMP off, no default plugins (no PEX).
"""

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


def make_session(port, upload_rate):
    settings = lt.high_performance_seed()
    settings.update(
        {
            "listen_interfaces": f"{LOOPBACK}:{port}",
            "outgoing_interfaces": LOOPBACK,
            "enable_dht": False,
            "enable_lsd": False,
            "enable_upnp": False,
            "enable_natpmp": False,
            "enable_outgoing_utp": False,
            "enable_incoming_utp": False,
            "allow_multiple_connections_per_ip": True,
            # A seeder never dials anyone: every byte it serves goes through its relay (leechers
            # reach it only there; libtorrent sends its listen port only on outgoing connections).
            "seeding_outgoing_connections": False,
            "upload_rate_limit": int(upload_rate),
            # The limit counts BitTorrent bytes (payload and messages), not estimated TCP/IP headers.
            "rate_limit_ip_overhead": False,
            # Quota is handed out every tick: 500 ms by default, which holds every seeder's first
            # bytes (unchoke, first block) back about a second. A WAN link meters continuously.
            "tick_interval": 100,
            # Twenty sessions in one process on a small machine: few threads each.
            "aio_threads": 2,
            "hashing_threads": 1,
            "alert_mask": lt.alert.category_t.error_notification,
        }
    )
    ses = lt.session(settings, 0)  # flags=0: no default plugins (no ut_pex), nothing else started
    rules = lt.ip_filter()
    rules.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
    ses.set_peer_class_filter(rules)
    return ses


def main():
    with open(sys.argv[1], encoding="utf-8") as handle:
        config = json.load(handle)
    deadline = time.monotonic() + float(config.get("max_seconds", 3600))
    parent = os.getppid()
    info = lt.torrent_info(config["torrent"])
    seeders = []
    for spec in config["seeders"]:
        ses = make_session(spec["port"], spec["upload_rate"])
        if not ses.is_listening() or ses.listen_port() != spec["port"]:
            say("error", message=f"not listening on {LOOPBACK}:{spec['port']}")
            return 1
        params = lt.add_torrent_params()
        params.ti = info
        params.save_path = spec["save_path"]
        params.have_pieces = [True] * info.num_pieces()
        params.flags = lt.torrent_flags.default_flags & ~lt.torrent_flags.auto_managed & ~lt.torrent_flags.paused
        seeders.append((spec["port"], ses, ses.add_torrent(params)))

    ready = False
    pending = b""
    while time.monotonic() < deadline:
        if os.getppid() != parent:
            break
        time.sleep(0.05)
        for port, ses, handle in seeders:
            for alert in ses.pop_alerts():
                if isinstance(alert, (lt.torrent_error_alert, lt.file_error_alert)):
                    say("error", port=port, message=alert.message())
        if not ready and all(handle.status().is_seeding for _, _, handle in seeders):
            ready = True
            say("ready", ports=[port for port, _, _ in seeders])
        readable, _, _ = select.select([sys.stdin], [], [], 0)
        if readable:
            chunk = os.read(sys.stdin.fileno(), 4096)
            if chunk == b"":
                break
            pending += chunk
        lines = pending.split(b"\n")
        pending = lines.pop()
        for line in lines:
            word = line.decode().strip()
            if word == "quit":
                return 0
            if word == "stats":
                say(
                    "stats",
                    uploaded={str(port): handle.status().total_payload_upload for port, _, handle in seeders},
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
