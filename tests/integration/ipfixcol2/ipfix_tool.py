#!/usr/bin/env python3
"""IPFIX files for the ipfixcol2 plugin's tests and benchmark (RFC 7011).

  ipfix_tool.py split FILE HALF1 HALF2 WHOLE [SECONDS]
      The data records of FILE in time order (flow end, else start; at equal
      times a request first, then file order, as the sipdetect program orders
      a file), written as WHOLE and cut in two halves of as many records (or
      at SECONDS after the first record), each half starting with every
      template. Prints the times (us) of the first record, the second half's
      first and the last.
  ipfix_tool.py hostile structured|flipped FILE HOST PORT
      Sends hostile IPFIX messages over TCP, each set on its own connection.
      structured: templates with absurd lengths, fields of the wrong size,
      strings of 64 KB, unknown enterprise elements, sets cut short, data
      without a template; their SIP records date from 2000, before every
      real capture. flipped: FILE's messages with random bytes changed or
      cut short (what they decode to is anybody's guess).
  ipfix_tool.py flowmon FILE FLOWMON IPFIXPROBE
      FILE's SIP requests (IPv4) written twice: with Flowmon's elements
      (enterprise 39499: 34 sipCallingParty, 35 sipCalledParty, 36 sipVia,
      51 sipUserAgent, 52 sipRequestUri, 53 sipCSeq) as FLOWMON, and with
      ipfixprobe's (8057) as IPFIXPROBE. FLOWMON also holds FILE's responses
      without a Request-URI, as Flowmon exports them.
"""
import random
import socket
import struct
import sys
import time

VARIABLE = 0xFFFF
NTP_OFFSET = 2208988800
END_TIMES = {151: 's', 153: 'ms', 155: 'us', 157: 'ns'}
START_TIMES = {150: 's', 152: 'ms', 154: 'us', 156: 'ns'}


def messages(data):
    """Yields (header fields, body bytes) for each message of a file."""
    pos = 0
    while pos + 16 <= len(data):
        version, length, export_time, sequence, domain = struct.unpack_from('>HHIII', data, pos)
        if version != 10 or length < 16 or pos + length > len(data):
            raise SystemExit(f'not an IPFIX message at byte {pos}')
        yield export_time, domain, data[pos + 16:pos + length]
        pos += length


def sets(body):
    pos = 0
    while pos + 4 <= len(body):
        set_id, length = struct.unpack_from('>HH', body, pos)
        if length < 4:
            raise SystemExit('bad set length')
        yield set_id, body[pos + 4:pos + length]
        pos += length


def parse_templates(content):
    """Yields (template id, [(pen, id, length)], raw template record bytes)."""
    pos = 0
    while pos + 4 <= len(content):
        start = pos
        tid, count = struct.unpack_from('>HH', content, pos)
        pos += 4
        fields = []
        for _ in range(count):
            raw_id, length = struct.unpack_from('>HH', content, pos)
            pos += 4
            pen = 0
            if raw_id & 0x8000:
                pen, = struct.unpack_from('>I', content, pos)
                pos += 4
            fields.append((pen, raw_id & 0x7FFF, length))
        yield tid, fields, content[start:pos]


def split_record(fields, content, pos):
    """Returns ({(pen, id): value bytes}, end) for the record at pos."""
    values = {}
    for pen, fid, length in fields:
        if length == VARIABLE:
            length = content[pos]
            pos += 1
            if length == 255:
                length, = struct.unpack_from('>H', content, pos)
                pos += 2
        values.setdefault((pen, fid), content[pos:pos + length])
        pos += length
    return values, pos


def micros(unit, value):
    if unit == 's':
        return value * 1_000_000
    if unit == 'ms':
        return value * 1000
    seconds = (value >> 32) - NTP_OFFSET
    fraction = value & 0xFFFFFFFF
    if unit == 'us':
        return seconds * 1_000_000 + ((fraction * 999_999 + (1 << 31)) >> 32)
    return seconds * 1_000_000 + ((fraction * 1_000_000_000 + (1 << 31)) >> 32) // 1000


def record_time(fields, values):
    for table in (END_TIMES, START_TIMES):
        for pen, fid, _ in fields:
            if pen == 0 and fid in table:
                return micros(table[fid], int.from_bytes(values[(0, fid)], 'big'))
    return 0


def read_records(path):
    """(templates {(domain, id): (fields, raw)}, [(time, is_response, seq, domain, tid, bytes)])."""
    templates, records = {}, []
    with open(path, 'rb') as f:
        data = f.read()
    for _, domain, body in messages(data):
        for set_id, content in sets(body):
            if set_id == 2:
                for tid, fields, raw in parse_templates(content):
                    templates[(domain, tid)] = (fields, raw)
            elif set_id >= 256 and (domain, set_id) in templates:
                fields, _ = templates[(domain, set_id)]
                minimum = sum(1 if l == VARIABLE else l for _, _, l in fields)
                pos = 0
                while len(content) - pos >= minimum:
                    values, end = split_record(fields, content, pos)
                    msg_type = int.from_bytes(values.get((8057, 100), b'\0'), 'big')
                    records.append((record_time(fields, values), msg_type >= 99, len(records), domain, set_id,
                                    content[pos:end]))
                    pos = end
    return templates, records


def message(domain, sequence, export_time, body):
    return struct.pack('>HHIII', 10, 16 + len(body), export_time, sequence, domain) + body


def template_set(raws):
    body = b''.join(raws)
    return struct.pack('>HH', 2, 4 + len(body)) + body


def write_records(path, templates, records, limit=1400):
    """Every template first, then the records, batched per domain and template in messages of about `limit` bytes."""
    out = bytearray()
    sequences = {}
    for domain in sorted({d for d, _ in templates}):
        out += message(domain, 0, 0, template_set([raw for (d, _), (_, raw) in sorted(templates.items()) if d == domain]))
    batch, key = [], None

    def flush():
        if not batch:
            return
        domain, tid = key
        body = b''.join(batch)
        # A collector refuses export times that go back on a TCP session.
        export_time[0] = max(export_time[0], batch_time[0] // 1_000_000)
        out.extend(message(domain, sequences.get(domain, 0), export_time[0] & 0xFFFFFFFF,
                           struct.pack('>HH', tid, 4 + len(body)) + body))
        sequences[domain] = sequences.get(domain, 0) + len(batch)
        batch.clear()

    batch_time, export_time = [0], [0]
    for t, _, _, domain, tid, raw in records:
        if key != (domain, tid) or sum(map(len, batch)) + len(raw) > limit:
            flush()
            key = (domain, tid)
            batch_time[0] = t
        batch.append(raw)
    flush()
    with open(path, 'wb') as f:
        f.write(out)


def split(path, half1, half2, whole, at_seconds=None):
    templates, records = read_records(path)
    records.sort(key=lambda r: (r[0], r[1], r[2]))
    middle = len(records) // 2
    if at_seconds is not None:
        cut = records[0][0] + int(float(at_seconds) * 1_000_000)
        middle = next(i for i, r in enumerate(records) if r[0] >= cut)
    write_records(whole, templates, records)
    write_records(half1, templates, records[:middle])
    write_records(half2, templates, records[middle:])
    print(records[0][0], records[middle][0], records[-1][0])


def ie(pen, fid, length):
    return struct.pack('>HHI', 0x8000 | fid, length, pen) if pen else struct.pack('>HH', fid, length)


def text(value):
    if len(value) < 255:
        return bytes([len(value)]) + value
    return b'\xff' + struct.pack('>H', len(value)) + value


Y2000_US_NTP = (946684800 + NTP_OFFSET) << 32


def flipped_messages(path):
    """Yields (name, [messages]): FILE's messages with bytes changed or cut short."""
    with open(path, 'rb') as f:
        data = f.read()
    real = [message(d, 0, t, b) for t, d, b in messages(data)]
    rng = random.Random(20261207)
    for n in range(40):
        m = bytearray(rng.choice(real))
        for _ in range(rng.randint(1, 8)):
            m[rng.randrange(16, len(m))] = rng.randrange(256)
        yield f'a real message with bytes flipped ({n})', [real[0], bytes(m)]
    for n in range(10):
        m = rng.choice(real)
        yield f'a real message cut short ({n})', [real[0], m[:rng.randrange(16, len(m))]]


def structured_messages():
    """Yields (name, [messages]) to send on one connection each."""
    sip_fields = [ie(0, 8, 4), ie(0, 12, 4), ie(0, 7, 2), ie(0, 11, 2), ie(0, 155, 8), ie(8057, 100, 2),
                  ie(8057, 101, 2), ie(8057, 103, VARIABLE), ie(8057, 104, VARIABLE), ie(8057, 106, VARIABLE),
                  ie(8057, 107, VARIABLE), ie(8057, 108, VARIABLE)]

    def tmpl(tid, fields):
        return struct.pack('>HH', 2, 8 + sum(map(len, fields))) + struct.pack('>HH', tid, len(fields)) + b''.join(fields)

    def data_set(tid, records):
        body = b''.join(records)
        return struct.pack('>HH', tid, 4 + len(body)) + body

    def sip_record(src, uri_len, extra=b''):
        uri = b'sip:' + b'a' * uri_len
        return (bytes([203, 0, 113, src]) + bytes([198, 51, 100, 1]) + struct.pack('>HH', 5060, 5060) +
                struct.pack('>Q', Y2000_US_NTP) + struct.pack('>HH', 5, 0) + text(b'sip:a@b') + text(b'sip:a@b') +
                text(b'ua') + text(uri) + text(b'1 REGISTER') + extra)

    yield 'a template with absurd field lengths', [message(1, 0, 0, tmpl(300, [ie(0, 8, 65000), ie(8057, 100, 65535 - 1)]) +
                                                         data_set(300, [b'\x01' * 40]))]
    wrong = [ie(0, 8, 2), ie(0, 12, 4), ie(0, 7, 2), ie(0, 11, 2), ie(0, 155, 3), ie(8057, 100, 8), ie(8057, 101, 2)]
    yield 'fields of the wrong size', [message(1, 0, 0, tmpl(301, wrong) + data_set(301, [b'\x07' * 23] * 3))]
    yield 'strings of 64 KB', [message(1, 0, 0, tmpl(302, sip_fields)),
                               message(1, 0, 0, data_set(302, [sip_record(1, 65400)])),
                               message(1, 1, 0, data_set(302, [sip_record(2, 32000)] * 2))]
    unknown = sip_fields + [ie(99999, 1, VARIABLE), ie(99999, 2, 8), ie(8057, 999, 4)]
    yield 'unknown enterprise elements', [message(1, 0, 0, tmpl(303, unknown) + data_set(
        303, [sip_record(3, 10, text(b'x' * 300) + b'\0' * 8 + b'\1' * 4)]))]
    yield 'a template set cut short', [message(1, 0, 0, struct.pack('>HH', 2, 200) + b'\x01\x00\x00\x05')]
    yield 'a data set without its template', [message(7, 0, 0, data_set(999, [b'\x00' * 50]))]


def hostile(kind, path, host, port):
    sent = 0
    for name, msgs in (structured_messages() if kind == 'structured' else flipped_messages(path)):
        with socket.create_connection((host, port), timeout=10) as s:
            for m in msgs:
                try:
                    s.sendall(m)
                except OSError:
                    break  # the collector closed a session it refused
            sent += 1
        time.sleep(0.02)
    print(f'{sent} hostile sessions sent')


def flowmon(path, flowmon_out, ipfixprobe_out):
    templates, records = read_records(path)
    common = [ie(0, 8, 4), ie(0, 12, 4), ie(0, 7, 2), ie(0, 11, 2), ie(0, 155, 8)]
    texts = {'from': (39499, 34, 8057, 103), 'to': (39499, 35, 8057, 104), 'via': (39499, 36, 8057, 105),
             'ua': (39499, 51, 8057, 106), 'uri': (39499, 52, 8057, 107), 'cseq': (39499, 53, 8057, 108)}
    fm_fields = common + [ie(fm_pen, fm_id, VARIABLE) for fm_pen, fm_id, _, _ in texts.values()]
    fm_response_fields = common + [ie(39499, i, VARIABLE) for i in (34, 35, 53)]
    probe_fields = common + [ie(8057, 100, 2), ie(8057, 101, 2)] + [ie(8057, i, VARIABLE) for _, _, _, i in texts.values()]

    def tmpl(tid, fields):
        return struct.pack('>HH', tid, len(fields)) + b''.join(fields)

    fm_templates = {(1, 256): (None, tmpl(256, fm_fields)), (1, 257): (None, tmpl(257, fm_response_fields))}
    probe_templates = {(1, 256): (None, tmpl(256, probe_fields))}
    fm_records, probe_records = [], []
    for t, is_response, seq, domain, tid, raw in records:
        fields = templates[(domain, tid)][0]
        values, _ = split_record(fields, raw, 0)
        if (0, 8) not in values or (8057, 100) not in values:
            continue
        head = b''.join(values[(0, i)] for i in (8, 12, 7, 11, 155))
        if is_response:
            fm_records.append((t, True, seq, 1, 257, head + b''.join(text(values[(8057, i)]) for i in (103, 104, 108))))
            continue
        fm_records.append((t, False, seq, 1, 256, head + b''.join(text(values[(8057, i)]) for _, _, _, i in texts.values())))
        probe_records.append((t, False, seq, 1, 256, head + values[(8057, 100)] + values[(8057, 101)] +
                              b''.join(text(values[(8057, i)]) for _, _, _, i in texts.values())))
    fm_records.sort(key=lambda r: (r[0], r[1], r[2]))
    write_records(flowmon_out, fm_templates, fm_records)
    write_records(ipfixprobe_out, probe_templates, probe_records)
    print(f'{len(probe_records)} requests, {len(fm_records) - len(probe_records)} responses')


def main(argv):
    if len(argv) in (6, 7) and argv[1] == 'split':
        split(*argv[2:])
    elif len(argv) == 6 and argv[1] == 'hostile' and argv[2] in ('structured', 'flipped'):
        hostile(argv[2], argv[3], argv[4], int(argv[5]))
    elif len(argv) == 5 and argv[1] == 'flowmon':
        flowmon(*argv[2:])
    else:
        raise SystemExit(__doc__)


if __name__ == '__main__':
    main(sys.argv)
