#!/usr/bin/env python3
"""Python reference watcher for iocwatch's benchmarks: json + pyahocorasick.

Reads a text feed (one indicator value per line: IPv4/IPv6 address, CIDR
prefix, domain, or URL ending optionally in '*'), then JSON-lines files of
Defender messages, one after the other (Event Hubs bodies {"records": [...]} or bare records),
and reports every RemoteIP / RemoteUrl hit the way iocwatch does on the
generated benchmark workloads:

  * RemoteIP: longest matching prefix (dict per prefix length);
  * RemoteUrl host: the most specific matching domain (a pyahocorasick
    automaton over the domains, matches checked for a label boundary);
  * RemoteUrl as URL: the identical URL, else the longest URL prefix
    (an automaton over the URLs);
  * inspected events: the host in AdditionalFields, as iocwatch's decoder.

It builds an alert (a dict with the event's columns and a SHA-256 alert id)
per hit, as iocwatch does, and prints one JSON line:
{"records": N, "alerts": N, "seconds": wall, "cpu_seconds": cpu}, where the
times cover the stream only (not the start-up or the automaton build).
With --alerts FILE it also writes "ReportId<TAB>field<TAB>kind<TAB>value"
per alert, for the harness test that compares it with iocwatch.

Needs the ahocorasick module (Debian: python3-ahocorasick).
"""
import argparse
import hashlib
import ipaddress
import json
import sys
import time
from urllib.parse import urlsplit

import ahocorasick

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}


def load_feed(path):
    ips = {}  # (version, prefixlen) -> {network int: (kind, value)}
    domains, urls = {}, {}
    for line in open(path, encoding="utf-8"):
        v = line.strip()
        if not v or v[0] in "#;":
            continue
        if "://" in v:
            urls[v] = ("url", v)
            continue
        try:
            if "/" in v:
                net = ipaddress.ip_network(v, strict=False)
                kind = "cidr"
            else:
                net = ipaddress.ip_network(v)
                kind = "ip"
        except ValueError:
            domains[v.lower()] = ("domain", v.lower())
            continue
        ips.setdefault((net.version, net.prefixlen), {})[int(net.network_address)] = (kind, v)
    # Longest prefixes first, per IP version.
    order = {4: [], 6: []}
    for (ver, plen) in sorted(ips, key=lambda k: -k[1]):
        bits = 32 if ver == 4 else 128
        mask = ((1 << bits) - 1) ^ ((1 << (bits - plen)) - 1)
        order[ver].append((mask, ips[(ver, plen)]))
    dom_ac = ahocorasick.Automaton()
    for d in domains:
        dom_ac.add_word(d, d)
    dom_ac.make_automaton()
    url_ac = ahocorasick.Automaton()
    for u in urls:
        url_ac.add_word(u[:-1] if u.endswith("*") else u, u)
    url_ac.make_automaton()
    return order, domains, dom_ac, urls, url_ac


def lookup_ip(order, s):
    try:
        a = ipaddress.ip_address(s)
    except ValueError:
        return None
    if a.version == 6 and a.ipv4_mapped is not None:
        a = a.ipv4_mapped
    n = int(a)
    for mask, table in order[a.version]:
        hit = table.get(n & mask)
        if hit is not None:
            return hit
    return None


def split_host(url):
    """Returns (normalised URL or None, host)."""
    if "://" in url:
        p = urlsplit(url)
        host = (p.hostname or "").rstrip(".")
        port = p.port
        scheme = p.scheme.lower()
        netloc = host
        if port is not None and DEFAULT_PORTS.get(scheme) != port:
            netloc = "%s:%d" % (host, port)
        path = p.path or "/"
        norm = "%s://%s%s" % (scheme, netloc, path)
        if p.query:
            norm += "?" + p.query
        return norm, host
    host = url.split("/", 1)[0].split(":", 1)[0].lower().rstrip(".")
    norm = None
    if "/" in url:
        return split_host("http://" + url)
    return norm, host


def inspected_url(action, props):
    if action == "DnsQueryResponse" and props.get("DnsQueryString"):
        return props["DnsQueryString"]
    if action not in ("HttpConnectionInspected", "SslConnectionInspected", "DnsConnectionInspected", "DnsQueryResponse"):
        return ""
    af = props.get("AdditionalFields")
    if isinstance(af, str):
        try:
            af = json.loads(af)
        except ValueError:
            return ""
    if not isinstance(af, dict):
        return ""
    if action == "HttpConnectionInspected":
        host, uri = af.get("host") or "", af.get("uri") or ""
        if uri.lower().startswith(("http://", "https://")):
            return uri
        if not host or not uri.startswith("/"):
            return host
        return "http://" + host + uri
    if action == "SslConnectionInspected":
        return af.get("server_name") or ""
    if action == "DnsConnectionInspected":
        return af.get("query") or ""
    return af.get("DnsQueryString") or ""


def alert(rec, props, field, kind, value, matched):
    ts = props.get("Timestamp") or rec.get("time")
    h = hashlib.sha256()
    for part in (props.get("DeviceId") or "", str(props.get("ReportId") or 0), ts or "", kind, value):
        h.update(part.encode())
        h.update(b"\0")
    return {
        "alert_id": h.hexdigest()[:32], "timestamp": ts, "table": rec.get("category", "").replace("AdvancedHunting-", ""),
        "DeviceId": props.get("DeviceId"), "DeviceName": props.get("DeviceName"), "ActionType": props.get("ActionType"),
        "FileName": props.get("InitiatingProcessFileName"), "InitiatingProcessCommandLine": props.get("InitiatingProcessCommandLine"),
        "RemoteIP": props.get("RemoteIP"), "RemoteUrl": props.get("RemoteUrl"), "ReportId": props.get("ReportId"),
        "matched_field": field, "matched_value": matched, "indicator": {"kind": kind, "value": value},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--feed", required=True)
    ap.add_argument("--alerts")
    ap.add_argument("corpus", nargs="+", help="JSON-lines files, read one after the other")
    args = ap.parse_args()
    order, domains, dom_ac, urls, url_ac = load_feed(args.feed)
    out = open(args.alerts, "w") if args.alerts else None
    records = alerts = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for path in args.corpus:
        with open(path, "rb") as f:
            for line in f:
                msg = json.loads(line)
                recs = msg.get("records")
                if recs is None:
                    recs = [msg] if "category" in msg else []
                for rec in recs:
                    records += 1
                    cat = rec.get("category", "")
                    if not cat.endswith(("DeviceNetworkEvents", "DeviceEvents")):
                        continue
                    props = rec.get("properties") or {}
                    found = []
                    rip = props.get("RemoteIP")
                    if rip:
                        hit = lookup_ip(order, rip)
                        if hit:
                            found.append(("RemoteIP",) + hit + (rip,))
                    url = props.get("RemoteUrl") or inspected_url(props.get("ActionType"), props)
                    if url:
                        norm, host = split_host(url)
                        ip_host = lookup_ip(order, host.strip("[]")) if host and (host[0].isdigit() or ":" in host) else None
                        if ip_host is not None:
                            if host.strip("[]") != rip:
                                found.append(("RemoteUrl.host",) + ip_host + (host,))
                        elif host:
                            best = None
                            for _, d in dom_ac.iter(host):
                                if (host == d or host.endswith("." + d)) and (best is None or len(d) > len(best)):
                                    best = d
                            if best is not None:
                                found.append(("RemoteUrl",) + domains[best] + (url,))
                        if norm:
                            exact, best = None, None
                            for _, u in url_ac.iter(norm):
                                if u.endswith("*"):
                                    if norm.startswith(u[:-1]) and (best is None or len(u) > len(best)):
                                        best = u
                                elif norm == u:
                                    exact = u
                            pick = exact or best
                            if pick is not None:
                                found.append(("RemoteUrl",) + urls[pick] + (url,))
                    for field, kind, value, matched in found:
                        a = alert(rec, props, field, kind, value, matched)
                        alerts += 1
                        if out:
                            out.write("%s\t%s\t%s\t%s\n" % (a["ReportId"], field, kind, value))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if out:
        out.close()
    print(json.dumps({"records": records, "alerts": alerts, "seconds": wall, "cpu_seconds": cpu}))


if __name__ == "__main__":
    sys.exit(main())
