#!/usr/bin/env python3
"""The HTML report (sipdetect --report) opened in headless Chromium.

    report_browser.py capture SIPDETECT WORKDIR INPUT [SIPDETECT ARGS...]
        the report of one input: loads with no console message, its
        screenshot is not blank, and its DOM holds one timeline bar and one
        table row per scan, one marker per new proxy and one bar and one row
        per campaign, with the sources and times of the events the program
        printed
    report_browser.py hostile SIPDETECT WORKDIR
        a Zeek log full of markup, script, invalid UTF-8 and long strings:
        shown as text, nothing executes
    report_browser.py large SIPDETECT WORKDIR
        10,000 scans: the page loads and paints (its screenshot is taken)
        within LARGE_LOAD_SECONDS, its file stays under LARGE_SIZE_BOUND
        bytes, its tables show 100 rows a page and its timeline 200 lanes
    report_browser.py sort SIPDETECT WORKDIR INPUT [SIPDETECT ARGS...]
        clicks column headings of the scan table (through the DevTools
        protocol on a pipe) and checks the rows' order and aria-sort
    report_browser.py screenshot SIPDETECT PNG INPUT [SIPDETECT ARGS...]
        the screenshot of a report (the README's examples/report-demo.png)

Chromium runs without a network (in a new network namespace, `unshare -n`;
the page's Content-Security-Policy also forbids every fetch, and a refused
fetch is a console message, which fails the test). Exit status 77 (skipped)
when not root or when Chromium is missing, unless CI=true.
"""
import html.parser
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import zlib

LARGE_SCANS = 10_000
LARGE_SIZE_BOUND = 40 * 1024 * 1024  # bytes; README "The report": about 3.5 KB per scan with a full sample
LARGE_LOAD_SECONDS = 60
SKIP = 77


def fail(message):
    print("FAILED: " + message, file=sys.stderr)
    sys.exit(1)


def skip_or_fail(message):
    if os.environ.get("CI") == "true":
        fail(message + " (CI=true: not skipped)")
    print("SKIPPED: " + message)
    sys.exit(SKIP)


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    skip_or_fail("chromium not found (cmake/install-debian-deps.sh --full installs it)")


def browse(page, workdir, screenshot=None, height=2200, fragment=""):
    """Loads the page (at #fragment) with no network; returns (dom, console lines, seconds)."""
    if os.geteuid() != 0:
        skip_or_fail("not root: the browser runs in a network namespace of its own (unshare -n)")
    profile = os.path.join(workdir, "chromium-profile")
    shutil.rmtree(profile, ignore_errors=True)
    command = ["unshare", "-n", chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--no-first-run", "--disable-extensions", "--disable-background-networking",
               "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0",
               "--window-size=1300,%d" % height]
    command += ["--screenshot=" + screenshot] if screenshot else ["--dump-dom"]
    command.append("file://" + os.path.abspath(page) + fragment)
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, timeout=300)
    seconds = time.monotonic() - started
    shutil.rmtree(profile, ignore_errors=True)
    if done.returncode != 0:
        fail("chromium exited with %d: %s" % (done.returncode, done.stderr.decode(errors="replace")[-2000:]))
    stderr = done.stderr.decode(errors="replace")
    # Chromium's own pages (source: chrome://...) may log too; what counts is what the report logs.
    console = [line for line in stderr.splitlines() if ":CONSOLE" in line and "source: chrome://" not in line]
    return done.stdout.decode(errors="replace"), console, seconds


def png_pixels(path):
    """(width, height, rows of RGB(A) bytes) of an 8-bit RGB or RGBA PNG, as Chromium writes them."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(path + " is not a PNG")
    at, idat, width = 8, b"", 0
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            if depth != 8 or colour not in (2, 6):
                fail("unexpected PNG format: depth %d colour %d" % (depth, colour))
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        at += 12 + length
    raw, stride, rows, previous = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    for y in range(height):
        line = raw[y * (stride + 1):(y + 1) * (stride + 1)]
        kind, row = line[0], bytearray(line[1:])
        for i in range(stride):
            left = row[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                row[i] = (row[i] + left) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + up) & 0xFF
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                row[i] = (row[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(bytes(row))
        previous = row
    return width, height, channels, rows


def check_not_blank(path):
    width, height, channels, rows = png_pixels(path)
    colours, ink = set(), 0
    for row in rows[::4]:
        for x in range(0, width * channels, channels * 4):
            pixel = row[x:x + 3]
            colours.add(pixel)
            ink += pixel != b"\xff\xff\xff"
    sampled = len(rows[::4]) * len(range(0, width * channels, channels * 4))
    if len(colours) < 8 or ink < sampled // 100:
        fail("%s looks blank: %d colours, %d of %d sampled pixels not white" % (path, len(colours), ink, sampled))
    return len(colours), ink / sampled


class Dom(html.parser.HTMLParser):
    """The elements of the dumped DOM with their attributes, and the page's text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.elements.append({"tag": tag, "attrs": dict(attrs)})

    def handle_data(self, data):
        self.text.append(data)

    def having(self, tag, css_class):
        return [e for e in self.elements
                if e["tag"] == tag and css_class in e["attrs"].get("class", "").split()]


def parse_dom(text):
    dom = Dom()
    dom.feed(text)
    return dom


def run_sipdetect(sipdetect, report, inputs, extra):
    command = [sipdetect, "--json", "--no-progress", "--report", report] + extra + inputs
    done = subprocess.run(command, capture_output=True, timeout=600)
    if done.returncode != 0:
        fail("%s exited with %d: %s" % (" ".join(command), done.returncode, done.stderr.decode(errors="replace")))
    return [json.loads(line) for line in done.stdout.decode().splitlines() if line]


def latest_events(events, detector):
    """The latest event of each id (start, updates, end of one scan or campaign)."""
    latest = {}
    for e in events:
        if e["detector"] == detector:
            latest[e["id"]] = e
    return latest


def latest_scans(events):
    return latest_events(events, "sipscan")


def check_page(dom, events):
    """One bar and one row per scan, one marker per new proxy, with the events' sources and times."""
    scans = latest_scans(events)
    proxies = {e["id"]: e for e in events if e["detector"] == "sipproxy"}
    bars = {int(b["attrs"]["data-scan"]): b["attrs"] for b in dom.having("rect", "bar")}
    rows = {int(r["attrs"]["id"].split("-")[1]): r["attrs"] for r in dom.having("tbody", "scan")}
    markers = {int(m["attrs"]["data-proxy"]): m["attrs"] for m in dom.having("path", "new-proxy")}
    if len(dom.having("rect", "bar")) != len(scans) or set(bars) != set(scans):
        fail("timeline bars %s, scans %s" % (sorted(bars), sorted(scans)))
    if len(dom.having("tbody", "scan")) != len(scans) or set(rows) != set(scans):
        fail("table rows %s, scans %s" % (sorted(rows), sorted(scans)))
    for scan_id, e in scans.items():
        for attrs, what in ((bars[scan_id], "bar"), (rows[scan_id], "row")):
            shown = (attrs["data-source"], attrs["data-first"], attrs["data-last"])
            if shown != (e["source"], e["first_seen"], e["last_seen"]):
                fail("scan %d: %s shows %s, the event says %s" % (scan_id, what, shown,
                                                                  (e["source"], e["first_seen"], e["last_seen"])))
        if bars[scan_id]["data-submethod"] != e["submethod"] or bars[scan_id]["data-kind"] != e["kind"]:
            fail("scan %d: bar of %s/%s, event %s/%s" % (scan_id, bars[scan_id]["data-submethod"],
                                                          bars[scan_id]["data-kind"], e["submethod"], e["kind"]))
    if len(dom.having("path", "new-proxy")) != len(proxies) or set(markers) != set(proxies):
        fail("proxy markers %s, new_proxy events %s" % (sorted(markers), sorted(proxies)))
    for proxy_id, e in proxies.items():
        shown = (markers[proxy_id]["data-source"], markers[proxy_id]["data-detected"])
        if shown != (e["source"], e["detected_at"]):
            fail("proxy %d: marker shows %s, the event says %s" % (proxy_id, shown, (e["source"], e["detected_at"])))
    campaigns = latest_events(events, "sipcampaign")
    campaign_bars = {int(b["attrs"]["data-campaign"]): b["attrs"] for b in dom.having("rect", "campaign-bar")}
    campaign_rows = {int(r["attrs"]["id"].split("-")[1]): r["attrs"] for r in dom.having("tbody", "campaign")}
    if set(campaign_bars) != set(campaigns) or set(campaign_rows) != set(campaigns) or \
            len(dom.having("rect", "campaign-bar")) != len(campaigns):
        fail("campaign bars %s, rows %s, campaigns %s" % (sorted(campaign_bars), sorted(campaign_rows), sorted(campaigns)))
    for campaign_id, e in campaigns.items():
        for attrs in (campaign_bars[campaign_id], campaign_rows[campaign_id]):
            if (attrs["data-first"], attrs["data-last"]) != (e["first_seen"], e["last_seen"]):
                fail("campaign %d: shown from %s to %s, the event says %s to %s"
                     % (campaign_id, attrs["data-first"], attrs["data-last"], e["first_seen"], e["last_seen"]))
    return len(scans), len(proxies), len(campaigns)


def load_clean(page, workdir):
    dom_text, console, seconds = browse(page, workdir)
    if console:
        fail("console messages while loading %s:\n%s" % (page, "\n".join(console)))
    return parse_dom(dom_text), seconds


def capture(sipdetect, workdir, source, extra):
    os.makedirs(workdir, exist_ok=True)
    name = os.path.basename(source)
    report = os.path.join(workdir, name + ".html")
    events = run_sipdetect(sipdetect, report, [source], extra)
    dom, seconds = load_clean(report, workdir)
    scans, proxies, campaigns = check_page(dom, events)
    png = os.path.join(workdir, name + ".png")
    _, console, _ = browse(report, workdir, screenshot=png)
    if console:
        fail("console messages while taking the screenshot:\n" + "\n".join(console))
    colours, ink = check_not_blank(png)
    print("%s: %d scans, %d new proxies, %d campaigns; %d bytes; loaded in %.1f s with no console message; "
          "screenshot %s: %d colours, %.0f %% of it not white" % (name, scans, proxies, campaigns,
                                                                 os.path.getsize(report), seconds, png, colours,
                                                                 100 * ink))


ZEEK_FIELDS = ("ts uid id.orig_h id.orig_p id.resp_h id.resp_p trans_depth method uri date request_from request_to "
               "response_from response_to reply_to call_id seq subject request_path response_path user_agent "
               "status_code status_msg warning request_body_len response_body_len content_type").split()


def zeek_escape(value):
    """Zeek's ASCII writer: tab, backslash, control and non-ASCII bytes as \\xHH."""
    out = []
    for b in value if isinstance(value, bytes) else value.encode():
        out.append("\\x%02x" % b if b < 0x20 or b >= 0x7F or b in (0x09, 0x5C) else chr(b))
    return "".join(out)


def zeek_log(path, rows):
    with open(path, "w") as f:
        f.write("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tsip\n")
        f.write("#fields\t" + "\t".join(ZEEK_FIELDS) + "\n")
        for row in rows:
            f.write("\t".join(zeek_escape(row[k]) if k in row else "-" for k in ZEEK_FIELDS) + "\n")


def transaction(ts, orig, resp, method, user, status, user_agent=b"", from_uri=None, port=5060):
    return {"ts": "%.6f" % ts, "uid": "C1", "id.orig_h": orig, "id.orig_p": "5060", "id.resp_h": resp,
            "id.resp_p": str(port), "trans_depth": "0", "method": method, "uri": b"sip:" + user + b"@" + resp.encode(),
            "request_from": from_uri or b"<sip:scanner@" + orig.encode() + b">",
            "request_to": b"<sip:" + user + b"@" + resp.encode() + b">", "seq": "1 " + method,
            "request_path": "SIP/2.0/UDP " + orig, "user_agent": user_agent, "status_code": str(status)}


HOSTILE_UA = b"<script>console.error('ua ran')</script>" + b"A" * 65536
# A called user cannot hold "<" (a URI's user ends there): it breaks attributes and spells an entity instead.
HOSTILE_USER = b"\"onmouseover='alert(1)'&lt;"


def hostile(sipdetect, workdir):
    os.makedirs(workdir, exist_ok=True)
    rows, t = [], 1_700_000_000.0
    # A vertical REGISTER scan whose called users are markup, with a 64 KB user agent.
    for i in range(25):
        rows.append(transaction(t + i, "10.66.0.1", "192.0.2.10", "REGISTER", b"%d" % i + HOSTILE_USER, 404,
                                HOSTILE_UA if i % 2 else b"\xff\xfe<b>bold?</b>"))
    # A horizontal OPTIONS scan with invalid UTF-8 in every string.
    for i in range(25):
        rows.append(transaction(t + 40 + i, "10.66.0.2", "198.51.100.%d" % (i + 1), "OPTIONS", b"\xc3\x28\xed\xa0\x80",
                                200, b"</td></tr></table><script>console.error('escaped a table')</script>"))
    # A proxy relaying for 15 hostile From URIs, every request answered 200.
    for i in range(15):
        rows.append(transaction(t + 80 + i, "10.0.0.5", "192.0.2.20", "INVITE", b"bob", 200, b"<svg onload=alert(1)>",
                                from_uri=b"<sip:u%d\"<img/src=x/onerror=console.error(3)@example.org>" % i))
    log = os.path.join(workdir, "hostile.sip.log")
    zeek_log(log, rows)
    report = os.path.join(workdir, "hostile.html")
    events = run_sipdetect(sipdetect, report, [log], ["--closed-season", "0", "--proxy-min-uris", "10"])
    if not any(e["detector"] == "sipproxy" for e in events) or len(latest_scans(events)) != 2:
        fail("the hostile log should give 2 scans and a new proxy: %s" % events)
    with open(report, "rb") as f:
        raw = f.read()
    dom, _ = load_clean(report, workdir)  # console.error or alert in any string would show here
    check_page(dom, events)
    text = "".join(dom.text)
    for shown in ("<script>console.error('ua ran')</script>", "1\"onmouseover='alert(1)'&lt;", "<b>bold?</b>",
                  "\\xff\\xfe", "u1\"<img/src=x/onerror=console.error(3)@example.org",
                  "\\xc3(\\xed\\xa0\\x80", "<svg onload=alert(1)>"):
        if shown not in text:
            fail("%r is not shown as text" % shown)
    scripts = [e for e in dom.elements if e["tag"] == "script"]
    if len(scripts) != 1 or raw.count(b"<script") != 1:
        fail("the page has %d script elements (%d in the file); only its own should be there"
             % (len(scripts), raw.count(b"<script")))
    for tag in ("img", "b", "iframe"):
        if [e for e in dom.elements if e["tag"] == tag]:
            fail("a <%s> element came from a network string" % tag)
    print("hostile strings: shown as text, one script element (the page's own), no console message")


def large(sipdetect, workdir):
    os.makedirs(workdir, exist_ok=True)
    rows, t = [], 1_700_000_000.0
    # 10,000 scanners over a week, each an OPTIONS sweep of 21 hosts: one scan each, with a full sample.
    for s in range(LARGE_SCANS):
        source = "10.%d.%d.%d" % (s // 65536, s // 256 % 256, s % 256)
        start = t + s * 60.0
        for h in range(21):
            rows.append(transaction(start + h * 0.01, source, "198.51.%d.%d" % (s % 200, h + 1), "OPTIONS", b"100",
                                    200 if h % 3 == 0 else 404, b"friendly-scanner"))
    log = os.path.join(workdir, "large.sip.log")
    zeek_log(log, rows)
    report = os.path.join(workdir, "large.html")
    events = run_sipdetect(sipdetect, report, [log], [])
    scans = latest_scans(events)
    if len(scans) != LARGE_SCANS:
        fail("expected %d scans, got %d" % (LARGE_SCANS, len(scans)))
    size = os.path.getsize(report)
    if size > LARGE_SIZE_BOUND:
        fail("the report of %d scans is %d bytes, over the bound of %d" % (LARGE_SCANS, size, LARGE_SIZE_BOUND))
    # Loaded and painted: the screenshot is taken once the page has loaded.
    png = os.path.join(workdir, "large.png")
    _, console, seconds = browse(report, workdir, screenshot=png)
    if console:
        fail("console messages while loading %s:\n%s" % (report, "\n".join(console)))
    if seconds > LARGE_LOAD_SECONDS:
        fail("the page of %d scans took %.1f s to load (bound %d s)" % (LARGE_SCANS, seconds, LARGE_LOAD_SECONDS))
    # Opened at a scan's row on page 50, as a click on its bar does: the script turns to that page.
    dom_text, console, _ = browse(report, workdir, fragment="#scan-5000")
    if console:
        fail("console messages while loading %s:\n%s" % (report, "\n".join(console)))
    # Counted with patterns: Python's HTML parser takes minutes over 40 MB. The page writes these exact forms.
    rows = re.findall(r'<tbody id="scan-(\d+)" class="scan page-item( off-page)?"', dom_text)
    rows_shown = sorted(int(scan_id) for scan_id, hidden in rows if not hidden)
    if len(rows) != LARGE_SCANS or rows_shown != list(range(4901, 5001)):
        fail("%d rows, shown %s: expected %d rows, 100 a page, the page of scan 5000 shown"
             % (len(rows), rows_shown[:3] + ["..."] + rows_shown[-3:], LARGE_SCANS))
    bars = re.findall(r'<rect class="bar ', dom_text)
    if len(bars) != 200 or '<rect class="density"' not in dom_text:
        fail("the timeline should draw 200 source lanes and a density lane for the rest, drew %d bars" % len(bars))
    check_not_blank(png)
    print("%d scans: %d bytes (bound %d), loaded and painted in %.1f s (bound %d s), 100 rows a page (#scan-5000 "
          "opens page 50), 200 lanes + density" % (LARGE_SCANS, size, LARGE_SIZE_BOUND, seconds, LARGE_LOAD_SECONDS))


class DevTools:
    """Chromium driven through the DevTools protocol on a pipe (--remote-debugging-pipe: it reads
    commands on fd 3 and writes answers on fd 4, each a JSON text ended by a NUL byte)."""

    def __init__(self, workdir):
        if os.geteuid() != 0:
            skip_or_fail("not root: the browser runs in a network namespace of its own (unshare -n)")
        self.profile = os.path.join(workdir, "chromium-devtools-profile")
        shutil.rmtree(self.profile, ignore_errors=True)
        to_chromium, self.commands = os.pipe()
        self.answers, from_chromium = os.pipe()

        def descriptors():
            # Through high numbers first, in case a pipe end is 3 or 4 already; dup2 makes them inherited.
            os.dup2(to_chromium, 100)
            os.dup2(from_chromium, 101)
            os.dup2(100, 3)
            os.dup2(101, 4)
            os.close(100)
            os.close(101)

        self.process = subprocess.Popen(
            ["unshare", "-n", chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--remote-debugging-pipe", "--user-data-dir=" + self.profile, "about:blank"],
            close_fds=False, preexec_fn=descriptors, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(to_chromium)
        os.close(from_chromium)
        self.next_id, self.buffer, self.session = 0, b"", None

    def call(self, method, params=None, session=True):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            while b"\0" in self.buffer:
                text, self.buffer = self.buffer.split(b"\0", 1)
                answer = json.loads(text)
                if answer.get("id") == self.next_id:
                    if "error" in answer:
                        fail("DevTools %s: %s" % (method, answer["error"]))
                    return answer["result"]
            chunk = os.read(self.answers, 1 << 16)
            if not chunk:
                fail("chromium closed its DevTools pipe")
            self.buffer += chunk
        fail("no answer to DevTools %s within 60 s" % method)

    def open(self, url):
        target = self.call("Target.createTarget", {"url": url}, session=False)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        # A new target starts on an empty document that is "complete" too: wait for the page's own.
        loaded = "location.href === %s && document.readyState === 'complete'" % json.dumps(url)
        for _ in range(600):
            if self.evaluate(loaded):
                return
            time.sleep(0.1)
        fail(url + " did not finish loading")

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            fail("%s threw: %s" % (expression, result["exceptionDetails"]))
        return result["result"].get("value")

    def close(self):
        self.process.kill()
        self.process.wait()
        os.close(self.commands)
        os.close(self.answers)
        shutil.rmtree(self.profile, ignore_errors=True)


def sort(sipdetect, workdir, source, extra):
    os.makedirs(workdir, exist_ok=True)
    report = os.path.join(workdir, "sort.html")
    scans = latest_scans(run_sipdetect(sipdetect, report, [source], extra))
    if len(scans) < 2:
        fail("sorting needs two scans or more, %s has %d" % (source, len(scans)))
    browser = DevTools(workdir)
    try:
        browser.open("file://" + os.path.abspath(report))
        order = "Array.from(document.querySelectorAll('#scan-table tbody.scan')).map(b => Number(b.id.slice(5)))"
        for column, key in ((6, lambda e: e["requests"]), (9, lambda e: e["first_seen"]),
                            (3, lambda e: e["hosts"])):
            for ascending in (True, False):
                browser.evaluate("document.querySelector('#scan-table th button[data-col=\"%d\"]').click()" % column)
                shown = browser.evaluate(order)
                keys = [key(scans[i]) for i in shown]
                if keys != sorted(keys, reverse=not ascending):
                    fail("column %d sorted %s: rows %s, keys %s" % (column, "up" if ascending else "down", shown, keys))
                state = browser.evaluate("document.querySelector('#scan-table th button[data-col=\"%d\"]')"
                                         ".parentNode.getAttribute('aria-sort')" % column)
                if state != ("ascending" if ascending else "descending"):
                    fail("column %d: aria-sort %s" % (column, state))
                # Each row's sample stays with its row.
                detail = browser.evaluate("Array.from(document.querySelectorAll('#scan-table tbody.scan'))"
                                          ".every(b => b.rows.length === 2 && b.rows[1].className === 'scan-detail')")
                if not detail:
                    fail("a row lost its sample when sorted")
    finally:
        browser.close()
    print("%s: %d scans sorted by requests, first seen and hosts, both ways; aria-sort follows"
          % (os.path.basename(source), len(scans)))


def screenshot(sipdetect, png, source, extra):
    workdir = os.path.dirname(os.path.abspath(png))
    report = os.path.splitext(png)[0] + ".html"
    run_sipdetect(sipdetect, report, [source], extra)
    _, console, _ = browse(report, workdir, screenshot=png, height=1300)
    if console:
        fail("console messages:\n" + "\n".join(console))
    check_not_blank(png)
    os.remove(report)
    print("wrote " + png)


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    mode, sipdetect, where = argv[1], argv[2], argv[3]
    if mode == "capture" and len(argv) >= 5:
        if not os.path.exists(argv[4]):
            skip_or_fail(argv[4] + " not found")
        capture(sipdetect, where, argv[4], argv[5:])
    elif mode == "hostile":
        hostile(sipdetect, where)
    elif mode == "large":
        large(sipdetect, where)
    elif mode == "sort" and len(argv) >= 5:
        sort(sipdetect, where, argv[4], argv[5:])
    elif mode == "screenshot" and len(argv) >= 5:
        screenshot(sipdetect, where, argv[4], argv[5:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
