"""A real LSL inlet (pylsl, whose wheel ships liblsl) for the netns LSL test of protoctl.

Usage: python3 lsl_inlet.py VALUES MARKERS

Resolves the Arctop value stream of `focus` and the Arctop marker stream by name, reads
their full descriptions, pulls VALUES focus samples and MARKERS markers, and prints one
JSON object on stdout: every Arctop stream found on the network, and for each of the two
streams its metadata and the samples with their timestamps. Each timestamp is checked not
to lie after the moment it was pulled (the same monotonic clock on one machine).
Exits 1 with a message on stderr when a stream is not found or samples do not come.
"""

import json
import sys
import time

import pylsl

WAIT = 8.0


def fail(why):
    print(f"lsl_inlet.py: {why}", file=sys.stderr)
    sys.exit(1)


def describe(inlet):
    info = inlet.info(timeout=WAIT)
    channels = []
    channel = info.desc().child("channels").child("channel")
    while not channel.empty():
        channels.append(
            {
                "label": channel.child_value("label"),
                "unit": channel.child_value("unit"),
                "type": channel.child_value("type"),
            }
        )
        channel = channel.next_sibling()
    return {
        "name": info.name(),
        "type": info.type(),
        "source_id": info.source_id(),
        "channel_count": info.channel_count(),
        "channel_format": info.channel_format(),
        "nominal_srate": info.nominal_srate(),
        "channels": channels,
        "samples": [],
    }


def open_inlet(name):
    found = pylsl.resolve_byprop("name", name, minimum=1, timeout=WAIT)
    if not found:
        fail(f"no stream named {name} within {WAIT} s")
    return pylsl.StreamInlet(found[0])


def main():
    want_values, want_markers = int(sys.argv[1]), int(sys.argv[2])
    values = open_inlet("Arctop-focus")
    markers = open_inlet("Arctop-Markers")
    report = {"focus": describe(values), "markers": describe(markers)}
    deadline = time.monotonic() + WAIT
    pending = [(values, report["focus"], want_values), (markers, report["markers"], want_markers)]
    while any(len(r["samples"]) < want for _, r, want in pending):
        if time.monotonic() > deadline:
            counts = {r["name"]: len(r["samples"]) for _, r, _ in pending}
            fail(f"samples did not come in time: {counts}")
        for inlet, result, want in pending:
            if len(result["samples"]) >= want:
                continue
            sample, stamp = inlet.pull_sample(timeout=0.05)
            if sample is None:
                continue
            pulled_at = pylsl.local_clock()
            if stamp > pulled_at + 1e-6:
                fail(f"{result['name']}: stamp {stamp} lies after it was pulled ({pulled_at})")
            result["samples"].append([sample[0], stamp])
    names = sorted(
        {info.name() for info in pylsl.resolve_streams(wait_time=1.0)}
    )
    report["streams"] = [n for n in names if n.startswith("Arctop")]
    print(json.dumps(report))


if __name__ == "__main__":
    main()
