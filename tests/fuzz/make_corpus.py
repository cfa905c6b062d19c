#!/usr/bin/env python3
"""Writes the committed seed corpora of the sipdetect fuzz targets.

Every input is synthetic, written here: hand-made SIP messages, tiny pcap,
pcapng and Network Monitor files built byte by byte, Zeek sip.log lines, ipfixprobe CSV and IPFIX, address
strings and record-stream programs. Nothing is cut from captured traffic.
(The state seeds come from make_state_seeds.cpp.)

    tests/fuzz/make_corpus.py [corpus dir]      default: tests/fuzz/corpus next to this script
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def write(root, target, name, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def crlf(text):
    return text.replace("\n", "\r\n")


# --------------------------------------------------------------------------
# SIP messages

REGISTER = crlf(
    "REGISTER sip:192.0.2.20 SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.66:5060;branch=z9hG4bK-1;rport\n"
    "From: \"100\" <sip:100@192.0.2.20>;tag=a1\n"
    "To: \"100\" <sip:100@192.0.2.20>\n"
    "Call-ID: 1234@192.0.2.66\n"
    "CSeq: 1 REGISTER\n"
    "Contact: <sip:100@192.0.2.66:5060>\n"
    "User-Agent: friendly-scanner\n"
    "Max-Forwards: 70\n"
    "Content-Length: 0\n"
    "\n")

INVITE_BODY = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
INVITE = crlf(
    "INVITE sip:900@192.0.2.20;user=phone SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-2\n"
    "Via: SIP/2.0/UDP 192.0.2.31:5060;branch=z9hG4bK-3, SIP/2.0/TCP [2001:db8::31]:5070;branch=z9hG4bK-4\n"
    "From: sip:alice@example.com;tag=x\n"
    "To: <sip:900@192.0.2.20>\n"
    "Call-ID: call-2\n"
    "CSeq: 314159 INVITE\n"
    "Content-Type: application/sdp\n"
    f"Content-Length: {len(INVITE_BODY)}\n"
    "\n") + INVITE_BODY

RESPONSE_401 = crlf(
    "SIP/2.0 401 Unauthorized\n"
    "Via: SIP/2.0/UDP 192.0.2.66:5060;branch=z9hG4bK-1;received=192.0.2.66\n"
    "From: \"100\" <sip:100@192.0.2.20>;tag=a1\n"
    "To: \"100\" <sip:100@192.0.2.20>;tag=b2\n"
    "Call-ID: 1234@192.0.2.66\n"
    "CSeq: 1 REGISTER\n"
    "WWW-Authenticate: Digest realm=\"x\", nonce=\"y\"\n"
    "Content-Length: 0\n"
    "\n")

COMPACT = crlf(
    "OPTIONS sip:100@192.0.2.1 SIP/2.0\n"
    "v: SIP/2.0/UDP 192.0.2.66:5061;branch=z9hG4bK-5\n"
    "f: \"sipvicious\"<sip:100@1.1.1.1>;tag=3\n"
    "t: <sip:100@192.0.2.1>\n"
    "i: compact-call\n"
    "CSeq: 1 OPTIONS\n"
    "l: 0\n"
    "\n")

FOLDED = (
    "MESSAGE sip:bob@example.com SIP/2.0\n"
    "Via: SIP/2.0/UDP host.example.com:5060\n"
    " ;branch=z9hG4bK-6,\n"
    "\tSIP/2.0/UDP other.example.com\n"
    "From: Alice\n"
    " <sip:alice@example.com>;tag=1\n"
    "To: bob <sip:bob@example.com>\n"
    "Call-ID: folded\n"
    "CSeq: 2 MESSAGE\n"
    "User-Agent: a\n"
    "  b\n"
    "Content-Length: 5\n"
    "\n"
    "hello")

SIP_SEEDS = {
    "register.sip": REGISTER,
    "invite-sdp-two-vias.sip": INVITE,
    "response-401.sip": RESPONSE_401,
    "compact-form.sip": COMPACT,
    "folded-lf-only.sip": FOLDED,
    "tcp-two-messages.sip": REGISTER + RESPONSE_401,
    "keepalive-then-request.sip": "\r\n\r\n" + COMPACT,
    "keepalive-only.sip": "\r\n\r\n",
    "cut-in-headers.sip": INVITE[:180],
    "start-line-only.sip": "BYE sip:x@y SIP/2.0",
    "response-no-reason.sip": "SIP/2.0 200\r\nCSeq: 7 BYE\r\n\r\n",
    "conflicting-content-length.sip": crlf("ACK sip:a@b SIP/2.0\nContent-Length: 1\nl: 2\n\nxy"),
    "big-content-length.sip": crlf("INFO sip:a@b SIP/2.0\nContent-Length: 99999999999999999999999\n\n"),
    "bad-method.sip": "INV{TE sip:a@b SIP/2.0\r\n\r\n",
    "http.sip": "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
    "sip3.sip": "OPTIONS sip:a@b SIP/3.0\r\n\r\n",
    "ipv6-via-no-brackets.sip": crlf("NOTIFY sip:a@b SIP/2.0\nVia: SIP/2.0/UDP 2001:db8::1;branch=1\n"
                                     "Via : SIP / 2.0 / UDP [::1] : 5060\n\n"),
    "quoted-display-names.sip": crlf("REFER sip:a@b SIP/2.0\nFrom: \"a\\\"<b,c>\" <sip:q@r>;tag=1\n"
                                     "To: \"unterminated <sip:x@y>\nCSeq: 4294967296 REFER\n\n"),
}

# --------------------------------------------------------------------------
# pcap / pcapng


def ipv4_header(src, dst, proto, payload_len, frag=0):
    total = 20 + payload_len
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 1, frag, 64, proto, 0, bytes(src), bytes(dst))


def ipv6_header(src, dst, next_header, payload_len):
    return struct.pack("!IHBB16s16s", 6 << 28, payload_len, next_header, 64, bytes(src), bytes(dst))


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def tcp(sport, dport, payload):
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x18, 65535, 0, 0) + payload


def ethernet(ethertype, payload, vlan=None):
    head = b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02"
    if vlan is not None:
        head += struct.pack("!HH", 0x8100, vlan)
    return head + struct.pack("!H", ethertype) + payload


V4A, V4B = [192, 0, 2, 66], [192, 0, 2, 20]
V6A = [0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [0x66]
V6B = [0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [0x20]


def v4_udp(payload, sport=5060, dport=5060, src=V4A, dst=V4B):
    seg = udp(sport, dport, payload)
    return ipv4_header(src, dst, 17, len(seg)) + seg


def v4_tcp(payload, sport=40000, dport=5060):
    seg = tcp(sport, dport, payload)
    return ipv4_header(V4A, V4B, 6, len(seg)) + seg


def v6_udp(payload):
    seg = udp(5060, 5060, payload)
    return ipv6_header(V6A, V6B, 17, len(seg)) + seg


def pcap(linktype, packets, magic=0xA1B2C3D4, endian="<"):
    out = struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)
    for i, frame in enumerate(packets):
        out += struct.pack(endian + "IIII", 1577836800 + i, 1000 * i, len(frame), len(frame)) + frame
    return out


def pcapng_section(interfaces, packets, endian="<"):
    """One pcapng section: a section header, interface descriptions (link type, options, snap length) and
    packets: ("epb"|"pb", interface, timestamp, frame), ("spb", frame) or ("block", type, body)."""
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        length = 12 + len(body)
        return struct.pack(endian + "II", btype, length) + body + struct.pack(endian + "I", length)

    out = block(0x0A0D0D0A, struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1))
    for linktype, options, snap in interfaces:
        out += block(1, struct.pack(endian + "HHI", linktype, 0, snap) + options)
    for p in packets:
        if p[0] == "epb":
            _, interface, ts, frame = p
            out += block(6, struct.pack(endian + "IIIII", interface, ts >> 32, ts & 0xFFFFFFFF, len(frame), len(frame))
                         + frame)
        elif p[0] == "pb":
            _, interface, ts, frame = p
            out += block(2, struct.pack(endian + "HHIIII", interface, 0, ts >> 32, ts & 0xFFFFFFFF, len(frame),
                                        len(frame)) + frame)
        elif p[0] == "spb":
            out += block(3, struct.pack(endian + "I", len(p[1])) + p[1])
        else:
            out += block(p[1], p[2])
    return out


def pcapng_option(code, value, endian="<"):
    return struct.pack(endian + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def tsresol(value, endian="<"):
    return pcapng_option(9, bytes([value]), endian)


def tsoffset(seconds, endian="<"):
    return pcapng_option(14, struct.pack(endian + "q", seconds), endian)


def pcapng(linktype, packets):
    return pcapng_section([(linktype, b"", 65535)],
                          [("epb", 0, (1577836800 + i) * 1000000, frame) for i, frame in enumerate(packets)])


def sll2_frame(ethertype, payload):
    return struct.pack("!HHIHBB", ethertype, 0, 2, 1, 0, 6) + b"\x02" * 8 + payload


T0 = 1577836800  # 2020-01-01


def b(s):
    return s.encode()


PCAP_SEEDS = {
    "ethernet-udp-request-response.pcap": pcap(1, [ethernet(0x0800, v4_udp(b(REGISTER))),
                                                   ethernet(0x0800, v4_udp(b(RESPONSE_401), src=V4B, dst=V4A))]),
    "ethernet-vlan-tcp-two-messages.pcap": pcap(1, [ethernet(0x0800, v4_tcp(b(REGISTER + RESPONSE_401)), vlan=7)]),
    "raw-ipv6-udp.pcap": pcap(101, [v6_udp(b(COMPACT))]),
    "linux-sll.pcap": pcap(113, [b"\x00\x00\x00\x01\x00\x06" + b"\x02" * 8 + b"\x08\x00" + v4_udp(b(INVITE))]),
    "null-loopback-big-endian.pcap": pcap(0, [struct.pack("<I", 2) + v4_udp(b(COMPACT))], endian=">"),
    "nanosecond-fragment-icmp.pcap": pcap(1, [ethernet(0x0800, ipv4_header(V4A, V4B, 17, 8, frag=0x20) + b"x" * 8),
                                              ethernet(0x0800, ipv4_header(V4A, V4B, 1, 8) + b"\x03\x03" + b"\0" * 6),
                                              ethernet(0x0806, b"\0" * 28)], magic=0xA1B23C4D),
    "ethernet-ipv6-udp.pcapng": pcapng(1, [ethernet(0x86DD, v6_udp(b(FOLDED)))]),
    "truncated.pcap": pcap(1, [ethernet(0x0800, v4_udp(b(REGISTER)))])[:90],
    # Interfaces of different link types and time resolutions, as dumpcap -i a -i b and mergecap write them.
    "mixed-link-types.pcapng": pcapng_section(
        [(1, b"", 0), (101, tsresol(9), 0), (276, tsresol(0x80 | 20) + tsoffset(100), 0), (105, b"", 0),
         (0, tsresol(0x80 | 60) + tsoffset(T0), 0)],
        [("epb", 0, T0 * 1000000, ethernet(0x0800, v4_udp(b(REGISTER)), vlan=7)),
         ("block", 4, b"\x01\x00\x04\x00\xc0\x00\x02\x42" + b"\0" * 4),  # name resolution: skipped
         ("epb", 1, (T0 + 1) * 1000000000 + 5, v4_udp(b(RESPONSE_401), src=V4B, dst=V4A)),
         ("epb", 2, (T0 << 20) | (1 << 19), sll2_frame(0x86DD, v6_udp(b(COMPACT)))),
         ("epb", 3, 0, b"\0" * 24),
         ("epb", 4, 3 << 59, struct.pack("<I", 2) + v4_udp(b(INVITE))),
         ("block", 5, b"\0" * 16),  # interface statistics: skipped
         ("pb", 0, (T0 + 2) * 1000000, ethernet(0x0800, v4_tcp(b(REGISTER + RESPONSE_401)))),
         ("spb", ethernet(0x0800, v4_udp(b(FOLDED))))]),
    "two-sections-both-byte-orders.pcapng":
        pcapng_section([(1, b"", 0)], [("epb", 0, T0 * 1000000, ethernet(0x0800, v4_udp(b(REGISTER))))])
        + pcapng_section([(113, tsresol(3, ">"), 60)],
                         [("epb", 0, T0 * 1000, b"\x00\x00\x00\x01\x00\x06" + b"\x02" * 8 + b"\x08\x00" + v4_udp(b(INVITE))),
                          ("spb", b"\x00\x00\x00\x01\x00\x06" + b"\x02" * 8 + b"\x08\x00" + v4_udp(b(COMPACT)))],
                         endian=">"),
    "tsresol-extremes.pcapng": pcapng_section(
        [(228, tsresol(19), 0), (229, tsresol(0x80 | 63) + tsoffset(-T0), 0), (101, tsresol(0), 0)],
        [("epb", 0, 15 * 10**18, v4_udp(b(REGISTER))),
         ("epb", 1, (1 << 64) - 1, v6_udp(b(COMPACT))),
         ("epb", 2, (1 << 64) - 1, v4_udp(b(INVITE)))]),
}


def netmon(network, frames, minor=0, trailer_type=None):
    """A Network Monitor 2.x capture: header, frame records, then the frame table."""
    records, offsets, at = b"", [], 128
    for i, frame in enumerate(frames):
        rec = struct.pack("<QII", i * 1000, len(frame), len(frame)) + frame
        if minor >= 1:
            rec += struct.pack("<H", trailer_type if trailer_type is not None else network)
        if minor >= 2:
            rec += struct.pack("<I", 0)
        if minor >= 3:
            filetime = (1577836800 + 11644473600 + i) * 10000000
            rec += struct.pack("<QB", filetime, 0)
        offsets.append(at)
        records += rec
        at += len(rec)
    table = b"".join(struct.pack("<I", o) for o in offsets)
    systemtime = struct.pack("<8H", 2020, 1, 3, 1, 0, 0, 0, 0)
    header = b"GMBU" + bytes([minor, 2]) + struct.pack("<H", network) + systemtime
    header += struct.pack("<II", at, len(table))
    header += b"\0" * (128 - len(header))
    return header + records + table


NETMON_SEEDS = {
    "v2.0-ethernet.cap": netmon(1, [ethernet(0x0800, v4_udp(b(REGISTER))),
                                    ethernet(0x0800, v4_udp(b(RESPONSE_401), src=V4B, dst=V4A))]),
    "v2.1-raw-ip.cap": netmon(9, [v6_udp(b(COMPACT))], minor=1),
    "v2.3-pcap-ethernet-trailer.cap": netmon(1, [ethernet(0x0800, v4_tcp(b(REGISTER + RESPONSE_401)))], minor=3,
                                             trailer_type=0xE001),
    "v2.2-metadata-frame.cap": netmon(1, [b"\0" * 20], minor=2, trailer_type=0xFF00),
}

# --------------------------------------------------------------------------
# Zeek sip.log

ZEEK_FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "trans_depth", "method", "uri",
               "date", "request_from", "request_to", "response_from", "response_to", "reply_to", "call_id", "seq",
               "subject", "request_path", "response_path", "user_agent", "status_code", "status_msg", "warning",
               "request_body_len", "response_body_len", "content_type"]


def zeek_tsv(rows, fields=ZEEK_FIELDS):
    head = ("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tsip\n"
            "#open\t2020-01-01-00-00-00\n#fields\t" + "\t".join(fields) + "\n#types\t" +
            "\t".join("string" for _ in fields) + "\n")
    return head + "".join("\t".join(r) + "\n" for r in rows) + "#close\t2020-01-01-00-00-01\n"


def zeek_row(ts, orig, oport, resp, method, user, status, vias="SIP/2.0/UDP 192.0.2.66:5060"):
    values = {
        "ts": ts, "uid": "Cabc", "id.orig_h": orig, "id.orig_p": oport, "id.resp_h": resp, "id.resp_p": "5060",
        "trans_depth": "0", "method": method, "uri": f"sip:{user}@{resp}", "date": "-",
        "request_from": f"\"{user}\" <sip:{user}@{resp}>;tag=1", "request_to": f"<sip:{user}@{resp}>",
        "response_from": "-", "response_to": "-", "reply_to": "-", "call_id": "c1", "seq": f"1 {method}",
        "subject": "-", "request_path": vias, "response_path": vias, "user_agent": "friendly-scanner",
        "status_code": status, "status_msg": "-", "warning": "-", "request_body_len": "0",
        "response_body_len": "0", "content_type": "-"}
    return [values[f] for f in ZEEK_FIELDS]


ZEEK_TSV_SEEDS = {
    "scan.log": zeek_tsv([zeek_row(f"1577836800.{i:06d}", "192.0.2.66", "5060", f"192.0.2.{i + 1}", "OPTIONS",
                                   "100", "200" if i % 2 else "-") for i in range(4)]),
    "ipv6-escapes-unset.log": zeek_tsv([zeek_row("XXXXXXXXXX.XXXXXX", "2001:db8::66", "5061", "2001:db8::1",
                                                 "REGISTER", "a\\x09b", "401",
                                                 "SIP/2.0/UDP a,SIP/2.0/UDP b"),
                                        zeek_row("-", "192.0.2.1", "1", "192.0.2.2", "-", "(empty)", "180")]),
    "minimal-columns.log": "#fields\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tmethod\n"
                           "192.0.2.1\t5060\t192.0.2.2\t5060\tINVITE\n",
    "other-separator.log": "#separator ,\n#fields,id.orig_h,id.orig_p,id.resp_h,id.resp_p,status_code,seq\n"
                           "192.0.2.1,5060,192.0.2.2,5060,404,1 INVITE\n",
    "bad-port.log": zeek_tsv([zeek_row("1.5", "192.0.2.1", "70000", "192.0.2.2", "BYE", "x", "-")]),
    "truncated-line.log": zeek_tsv([zeek_row("1", "192.0.2.1", "1", "192.0.2.2", "ACK", "x", "-")])[:-40],
}

ZEEK_JSON_SEEDS = {
    "scan.json": "".join(
        f'{{"ts":1577836800.{i:06d},"uid":"C{i}","id.orig_h":"192.0.2.66","id.orig_p":5060,'
        f'"id.resp_h":"192.0.2.{i + 1}","id.resp_p":5060,"method":"REGISTER","uri":"sip:10{i}@192.0.2.{i + 1}",'
        f'"request_from":"<sip:10{i}@x>;tag=1","request_to":"<sip:10{i}@x>","call_id":"c{i}","seq":"1 REGISTER",'
        f'"request_path":["SIP/2.0/UDP 192.0.2.66:5060"],"response_path":["SIP/2.0/UDP 192.0.2.66:5060"],'
        f'"user_agent":"friendly-scanner","status_code":401}}\n' for i in range(4)),
    "nested-id-iso-time.json": '{"_path":"sip","_write_ts":"2020-01-01T00:00:00.5Z","ts":"2020-01-01T00:00:00.123456Z",'
                               '"id":{"orig_h":"2001:db8::66","orig_p":"5060","resp_h":"2001:db8::1","resp_p":5060},'
                               '"status_code":"200","seq":"2 INVITE","response_path":"SIP/2.0/UDP a,SIP/2.0/UDP b"}\n',
    "other-path-and-nulls.json": '{"_path":"conn","ts":1}\n'
                                 '{"ts":null,"id.orig_h":"192.0.2.1","id.orig_p":1,"id.resp_h":"192.0.2.2",'
                                 '"id.resp_p":2,"method":"OPTIONS","uri":null,"user_agent":"\\u0000\\ud83d\\ude00"}\n',
    "deep.json": '{"a":' * 20 + "1" + "}" * 20 + "\n",
    "wrong-types.json": '{"ts":1,"id.orig_h":1,"id.orig_p":1,"id.resp_h":"192.0.2.2","id.resp_p":2}\n',
    "huge-ts.json": '{"ts":1e300,"id.orig_h":"192.0.2.1","id.orig_p":1,"id.resp_h":"192.0.2.2","id.resp_p":2,'
                    '"method":"BYE"}\n',
    "truncated.json": '{"ts":1,"id.orig_h":"192.0.2.1","id.or',
}

# --------------------------------------------------------------------------
# ipfixprobe UniRec CSV

UNIREC = ("ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,uint64 BYTES_REV,time TIME_FIRST,time TIME_LAST,"
          "uint32 PACKETS,uint32 PACKETS_REV,uint16 DST_PORT,uint16 SRC_PORT,uint16 SIP_MSG_TYPE,"
          "uint16 SIP_STATUS_CODE,uint8 PROTOCOL,string SIP_CALLED_PARTY,string SIP_CALLING_PARTY,"
          "string SIP_CALL_ID,string SIP_CSEQ,string SIP_REQUEST_URI,string SIP_USER_AGENT,string SIP_VIA")


def unirec_row(dst, src, time, pk, pk_rev, msg_type, status, called, calling, cseq, via, ua="friendly-scanner"):
    return (f"{dst},{src},100,0,{time},{time},{pk},{pk_rev},5060,5060,{msg_type},{status},17,"
            f"\"{called}\",\"{calling}\",\"call\",\"{cseq}\",\"{called}\",\"{ua}\",\"{via}\"")


IPFIX_ROWS = [
    unirec_row("192.0.2.1", "192.0.2.66", "2020-01-01T00:00:00.000001", 1, 0, 1, 0, "sip:100@192.0.2.1",
               "sip:100@192.0.2.1", "1 INVITE", "SIP/2.0/UDP 192.0.2.66:5060;branch=1"),
    unirec_row("192.0.2.1", "192.0.2.66", "2020-01-01T00:00:00.100000", 0, 1, 99, 404, "sip:100@192.0.2.1",
               "sip:100@192.0.2.1", "1 INVITE", "SIP/2.0/UDP 192.0.2.66:5060"),
    unirec_row("2001:db8::1", "2001:db8::66", "1577836801.5", 1, 0, 5, 0, "sip:200@x", "sip:200@x",
               "1 REGISTER", "SIP/2.0/UDP a, SIP/2.0/TCP b", ua="a \"\"quoted\"\" ua"),
    unirec_row("192.0.2.3", "192.0.2.66", "2020-01-01T00:00:02", 1, 0, 0, 0, "", "", "", ""),
]

IPFIX_SEEDS = {
    "template-last.csv": "\n".join(IPFIX_ROWS) + "\n" + UNIREC + "\n",
    "template-first.csv": UNIREC + "\n" + "\n".join(IPFIX_ROWS[:2]) + "\n",
    "minimal-template.csv": "ipaddr SRC_IP,ipaddr DST_IP,uint16 DST_PORT,time TIME_FIRST,uint16 SIP_MSG_TYPE\n"
                            "192.0.2.66,192.0.2.1,5060,2020-01-01T00:00:00Z,6\n"
                            "192.0.2.66,192.0.2.1,5060,2020-01-01T00:00:00+01:00,180\n",
    "bad-quote.csv": IPFIX_ROWS[0].replace("\"1 INVITE\"", "\"1 INV\"ITE\"") + "\n" + UNIREC + "\n",
    "field-count.csv": IPFIX_ROWS[0] + ",extra\n" + UNIREC + "\n",
    "no-template.csv": IPFIX_ROWS[0] + "\n",
}

# --------------------------------------------------------------------------
# Addresses and prefix lists


# --------------------------------------------------------------------------
# IPFIX files (RFC 7011 messages one after another) with ipfixprobe's SIP elements

def ipfix_message(domain, sets, sequence=0):
    body = b"".join(sets)
    return struct.pack(">HHIII", 10, 16 + len(body), 1700000000, sequence, domain) + body


def ipfix_set(set_id, records):
    return struct.pack(">HH", set_id, 4 + len(records)) + records


def ipfix_template(template_id, fields, scope=None):
    out = struct.pack(">HH", template_id, len(fields))
    if scope is not None:
        out += struct.pack(">H", scope)
    for element, length, pen in fields:
        out += struct.pack(">HH", element | (0x8000 if pen else 0), length)
        if pen:
            out += struct.pack(">I", pen)
    return out


def ipfix_text(s):
    s = b(s) if isinstance(s, str) else s
    return (bytes([len(s)]) if len(s) < 255 else bytes([255]) + struct.pack(">H", len(s))) + s


def ipfixprobe_time(unix_micros):
    sec, usec = divmod(unix_micros, 1000000)
    return struct.pack(">Q", (sec + 2208988800) << 32 | ((usec << 32) // 999999))


VAR = 0xFFFF
# ipfixprobe's basic flow template (IPv4 or IPv6) followed by its SIP plugin's elements.
def ipfixprobe_sip_fields(v6=False):
    return ([(136, 1, 0), (1, 8, 0), (1, 8, 29305), (2, 8, 0), (2, 8, 29305), (154, 8, 0), (155, 8, 0),
             (60, 1, 0), (4, 1, 0), (6, 1, 0), (6, 1, 29305), (7, 2, 0), (11, 2, 0), (10, 4, 0),
             (27 if v6 else 8, 16 if v6 else 4, 0), (28 if v6 else 12, 16 if v6 else 4, 0), (56, 6, 0), (80, 6, 0)] +
            [(i, 2 if i <= 101 else VAR, 8057) for i in range(100, 109)])


def ipfixprobe_sip_record(src, dst, micros, msg_type, status, called, calling, cseq, request_uri="",
                          reversed_=False, ua="friendly-scanner"):
    out = bytes([1]) + struct.pack(">QQQQ", 400, 0, 0 if reversed_ else 1, 1 if reversed_ else 0)
    out += ipfixprobe_time(micros - 2000) + ipfixprobe_time(micros)
    out += bytes([6 if len(src) == 16 else 4, 17, 0, 0]) + struct.pack(">HHI", 5060, 5060, 0) + src + dst
    out += b"\x02" * 12 + struct.pack(">HH", msg_type, status)
    for text in ("1080421403", calling, called, "SIP/2.0/UDP 147.32.77.113:5060;branch=z9hG4bK-1", ua,
                 request_uri, cseq):
        out += ipfix_text(text)
    return out


SCANNER4, PBX4 = bytes([147, 32, 77, 113]), bytes([195, 113, 172, 39])
SCANNER6 = bytes([0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [0x66])
PBX6 = bytes([0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [0x20])
T0 = 1471336048605282


def ipfixprobe_sip_file(v6):
    src, dst = (SCANNER6, PBX6) if v6 else (SCANNER4, PBX4)
    records = b"".join([
        ipfixprobe_sip_record(src, dst, T0, 5, 0, "sip:6001@195.113.172.39", "sip:6001@195.113.172.39",
                              "1 REGISTER", "sip:195.113.172.39"),
        ipfixprobe_sip_record(src, dst, T0 + 2119, 99, 401, "sip:6001@195.113.172.39", "sip:6001@195.113.172.39",
                              "1 REGISTER", reversed_=True, ua=""),
        ipfixprobe_sip_record(src, dst, T0 + 9000, 1, 0, "sip:100@195.113.172.38", "sip:100@1.1.1.1",
                              "1 INVITE", "sip:100@195.113.172.38"),
    ])
    return ipfix_message(0, [ipfix_set(2, ipfix_template(258, ipfixprobe_sip_fields(v6))), ipfix_set(258, records)])


def domains_and_withdrawals():
    small = [(8, 4, 0), (12, 4, 0), (11, 2, 0), (153, 8, 0), (100, 1, 8057), (101, 2, 8057), (103, VAR, 8057),
             (108, VAR, 8057)]
    rec = (bytes([10, 0, 0, 1, 10, 0, 0, 2]) + struct.pack(">HQBH", 5060, 1700000000250, 6, 0) +
           ipfix_text("sip:a@example.com") + ipfix_text("1 OPTIONS"))
    options = ipfix_template(400, [(149, 4, 0), (41, 8, 0)], scope=1)
    return (ipfix_message(1, [ipfix_set(2, ipfix_template(300, small)), ipfix_set(3, options),
                              ipfix_set(400, struct.pack(">IQ", 1, 99)), ipfix_set(300, rec + rec + b"\0\0"),
                              ipfix_set(999, b"\1" * 12)]) +
            ipfix_message(2, [ipfix_set(300, rec)]) +  # no template 300 in domain 2
            ipfix_message(1, [ipfix_set(2, ipfix_template(300, [])), ipfix_set(300, rec)]) +
            ipfix_message(1, [ipfix_set(2, ipfix_template(2, [])), ipfix_set(2, ipfix_template(300, small)),
                              ipfix_set(300, rec)]))


def time_elements():
    out = b""
    for element, value in ((151, struct.pack(">I", 1700000000)), (153, struct.pack(">Q", 1700000000001)),
                           (157, struct.pack(">Q", (1700000000 + 2208988800) << 32 | 0x80000000))):
        fields = [(8, 4, 0), (12, 4, 0), (11, 2, 0), (element, len(value), 0), (100, 2, 8057)]
        rec = bytes([10, 0, 0, 1, 10, 0, 0, 2]) + struct.pack(">H", 5060) + value + struct.pack(">H", 6)
        out += ipfix_message(0, [ipfix_set(2, ipfix_template(256, fields)), ipfix_set(256, rec)])
    return out


IPFIX_FILE_SEEDS = {
    "ipfixprobe-v4-sip.ipfix": ipfixprobe_sip_file(False),
    "ipfixprobe-v6-sip.ipfix": ipfixprobe_sip_file(True),
    "domains-withdrawals-options.ipfix": domains_and_withdrawals(),
    "time-elements.ipfix": time_elements(),
    "long-user-agent.ipfix": ipfix_message(0, [
        ipfix_set(2, ipfix_template(258, ipfixprobe_sip_fields(False))),
        ipfix_set(258, ipfixprobe_sip_record(SCANNER4, PBX4, T0, 6, 0, "sip:100@1.1.1.1", "sip:100@1.1.1.1",
                                             "1 OPTIONS", "sip:100@1.1.1.1", ua="x" * 300))]),
}

ADDRESS_SEEDS = {
    "v4.txt": "192.0.2.1",
    "v6.txt": "2001:db8::1",
    "v4-mapped.txt": "::ffff:192.0.2.1",
    "v6-full.txt": "2001:0db8:0000:0000:0000:ff00:0042:8329",
    "v6-embedded-v4.txt": "64:ff9b::192.0.2.33",
    "prefix-list.txt": "10.0.0.0/8, 2001:db8::/32 192.168.0.0/16\t::/0\n0.0.0.0/0",
    "host-bits.txt": "10.0.0.1/8",
    "leading-zero.txt": "010.0.0.1",
    "raw-16-bytes.bin": bytes(range(16)) + b"1::",
}

# --------------------------------------------------------------------------
# Record-stream programs (see the encoding in fuzz_record_stream.cpp)

OP_REQUEST, OP_RESPONSE, OP_POLL, OP_CLOCK, OP_FLOW, OP_RELOAD, OP_FLUSH = 0, 2, 3, 4, 5, 6, 7
METHOD = {"invite": 1, "ack": 2, "register": 5, "options": 6}


def request(src_pool, dst_pool, method, time_step, from_b, to_b, via=1, flags=0x40, ua_b=224, time=None):
    time = bytes([1, time_step]) if time is None else time
    out = bytes([OP_REQUEST, flags, src_pool, dst_pool, 0, method]) + time + bytes([via, from_b, to_b])
    if flags & 0x20:
        out += bytes([to_b])
    if flags & 0x40:
        out += bytes([ua_b])
    return out


def response(src_pool, dst_pool, method, status_index, from_b, to_b, flags=0x00):
    return bytes([OP_RESPONSE, flags, src_pool, dst_pool, 0, method, status_index, 7, 10, 1, from_b, to_b])


def record_stream_seeds():
    seeds = {}
    # A REGISTER scan from pool[4] (10.0.0.66): 4 targets (threshold 3), 401 answers, polls, a reload.
    prog = bytes([0])
    for i in range(4):
        prog += request(4, i, METHOD["register"], 1, i, i)
        prog += response(i, 4, METHOD["register"], 7, i, i, flags=0x00)
    prog += bytes([OP_POLL, OP_RELOAD])
    prog += request(4, 5, METHOD["register"], 1, 9, 9)
    prog += bytes([OP_POLL, OP_CLOCK, 0x0c | 1, 0x10, OP_POLL, OP_FLUSH])
    seeds["register-scan.bin"] = prog
    # A proxy: pool[2] (10.0.0.10) sends INVITEs for 5 From URIs, all answered 200, one hour
    # after a phone's first record started the training season (30 minutes in variant 0).
    prog = bytes([0]) + request(0, 3, METHOD["register"], 0, 1, 1)
    prog += bytes([OP_CLOCK, 0x0c | 1, 0x10])
    prog += request(0, 3, METHOD["register"], 0, 1, 1, time=bytes([3]) + struct.pack("<H", 60))
    for u in range(5):
        prog += request(2, 3, METHOD["invite"], 3, 20 + u, 50, via=2)
        prog += response(3, 2, METHOD["invite"], 3, 20 + u, 50)
    prog += bytes([OP_POLL, OP_RELOAD, OP_POLL, OP_FLUSH])
    seeds["proxy-after-training.bin"] = prog
    # Flow records with counters, in configuration variant 1 (tiny durations).
    prog = bytes([1])
    for i in range(5):
        # flags, src 10.0.0.4, dst pool[i], port, time +2 s, counters (REGISTER, OPTIONS, INVITE,
        # other, 2xx, failures), via, From, To
        prog += bytes([OP_FLOW, 0x03, 4, i, 0, 1, 2, 0, 1, 0, 1, 0, 1, 1, 30 + i, 30 + i])
    prog += bytes([OP_POLL, OP_RELOAD, OP_FLUSH])
    seeds["counter-flows.bin"] = prog
    # Variant 3 (filters): a raw IPv6 source, raw From and User-Agent bytes.
    src = bytes([0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [0x77])
    prog = bytes([3, OP_REQUEST, 0x62]) + src + bytes([0, 0, METHOD["options"], 1, 1, 1])
    prog += bytes([240]) + struct.pack("<H", 8) + b"sip:\xff@x"
    prog += bytes([2, 3, 240]) + struct.pack("<H", 5) + b"ua\x00\x1f\x7f"
    prog += bytes([OP_POLL, OP_FLUSH])
    seeds["filters-raw-text.bin"] = prog
    # Variant 2 (durations of "never"): a record at year 1, the clocks at the end of year 9999.
    prog = bytes([2, OP_REQUEST, 0x40, 4, 0, 0, METHOD["invite"], 5]) + struct.pack("<q", -62135596800000000)
    prog += bytes([1, 1, 2, 224, OP_POLL, OP_CLOCK, 2 | 12]) + struct.pack("<q", 253402300799000000)
    prog += bytes([OP_POLL])
    seeds["never-extreme-times.bin"] = prog
    return seeds


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
    for name, data in SIP_SEEDS.items():
        write(root, "sip_parser", name, data)
    for name, data in PCAP_SEEDS.items():
        write(root, "pcap_reader", name, data)
    for name, data in NETMON_SEEDS.items():
        write(root, "netmon_reader", name, data)
    for name, data in ZEEK_TSV_SEEDS.items():
        write(root, "zeek_tsv_reader", name, data)
    for name, data in ZEEK_JSON_SEEDS.items():
        write(root, "zeek_json_reader", name, data)
    for name, data in IPFIX_SEEDS.items():
        write(root, "ipfixprobe_reader", name, data)
    for name, data in IPFIX_FILE_SEEDS.items():
        write(root, "ipfix_reader", name, data)
    for name, data in ADDRESS_SEEDS.items():
        write(root, "address", name, data)
    for name, data in record_stream_seeds().items():
        write(root, "record_stream", name, data)


if __name__ == "__main__":
    main()
