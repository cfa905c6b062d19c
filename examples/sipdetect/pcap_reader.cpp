// sipdetect command-line program: the classic pcap reader (libpcap), the
// frame decoder it shares with the pcapng and NetMon readers
// (detail::decode_frame), and the table of LINKTYPE_ values.
//
// Link types: Ethernet (802.1Q/802.1ad/QinQ VLAN tags, PPPoE session), Linux
// cooked SLL and SLL2, raw IP (DLT_RAW, LINKTYPE_RAW and the 12 and 14 of
// older files, LINKTYPE_IPV4, LINKTYPE_IPV6) and BSD loopback (DLT_NULL,
// DLT_LOOP). IPv4 with options, IPv6 with extension
// headers; non-first fragments are skipped (no reassembly). UDP datagrams
// carry one SIP message; TCP segments are parsed as one or more whole SIP
// messages (no stream reassembly). ICMP/ICMPv6 is never SIP traffic, even
// when it quotes a SIP request.
#include "readers.hpp"

#include "readers_detail.hpp"

#include <sipdetect/sip_parser.hpp>

#include <pcap/pcap.h>

#include <array>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <optional>
#include <span>
#include <string>

namespace sipdetect_cli {

namespace {

using bytes = std::span<const std::uint8_t>;
using detail::be16;
using detail::be32;
using detail::le32;

// The link layer of a libpcap DLT_ value; nullopt when unsupported. DLT_RAW
// and DLT_LOOP differ between systems; the other DLT_ values that are
// decoded equal their LINKTYPE_.
std::optional<detail::link_layer> link_layer_of_dlt(int dlt) noexcept {
    if (dlt == DLT_RAW) return detail::link_layer::raw_ip;
    if (dlt == DLT_LOOP) return detail::link_layer::bsd_loop;
    if (dlt < 0) return std::nullopt;
    return detail::link_layer_of_linktype(static_cast<std::uint32_t>(dlt));
}

struct pcap_closer {
    void operator()(pcap_t* p) const noexcept { pcap_close(p); }
};

// Classic pcap files, through libpcap.
class pcap_reader final : public detail::capture_reader {
public:
    explicit pcap_reader(const std::filesystem::path& path) : capture_reader(path, input_format::pcap) {
        char errbuf[PCAP_ERRBUF_SIZE] = {};
        pcap_.reset(pcap_open_offline(path.c_str(), errbuf));
        if (!pcap_) detail::fail(path, "", errbuf[0] != '\0' ? errbuf : "cannot open capture");
        check_link_type();
    }
    // A stream, which libpcap reads packet by packet as it arrives.
    pcap_reader(const std::filesystem::path& name, detail::file_ptr stream) : capture_reader(name, input_format::pcap) {
        char errbuf[PCAP_ERRBUF_SIZE] = {};
        pcap_.reset(pcap_fopen_offline(stream.get(), errbuf));
        if (!pcap_) detail::fail(name, "", errbuf[0] != '\0' ? errbuf : "cannot open capture");
        (void)stream.release(); // pcap_close closes it
        check_link_type();
    }

private:
    void check_link_type() {
        const int linktype = pcap_datalink(pcap_.get());
        nano_ = pcap_get_tstamp_precision(pcap_.get()) == PCAP_TSTAMP_PRECISION_NANO;
        const auto link = link_layer_of_dlt(linktype);
        if (!link) {
            const char* name = pcap_datalink_val_to_name(linktype);
            detail::fail(path(), "", "unsupported link type " + std::to_string(linktype) +
                                         (name ? std::string(" (") + name + ")" : std::string()));
        }
        link_ = *link;
    }

    bool read_more() override {
        pcap_pkthdr* header = nullptr;
        const u_char* data = nullptr;
        const int rc = pcap_next_ex(pcap_.get(), &header, &data);
        if (rc == PCAP_ERROR_BREAK) return false; // end of file
        if (rc != 1) {
            const char* msg = pcap_geterr(pcap_.get());
            detail::fail(path(), "packet " + std::to_string(counters_.packets + 1),
                         msg && *msg ? msg : "read error");
        }
        ++counters_.packets;
        const std::int64_t frac = static_cast<std::int64_t>(header->ts.tv_usec);
        const auto time =
            detail::capture_time(static_cast<std::int64_t>(header->ts.tv_sec), nano_ ? frac / 1000 : frac);
        if (!time) ++counters_.bad_timestamps;
        decode(link_, bytes(data, header->caplen), time.value_or(sipdetect::record_time{}));
        return true;
    }

    std::unique_ptr<pcap_t, pcap_closer> pcap_;
    detail::link_layer link_ = detail::link_layer::ethernet;
    bool nano_ = false;
};

// Link layer -> IP -> UDP/TCP -> SIP, for one frame.
class frame_decoder {
public:
    frame_decoder(detail::link_layer link, sipdetect::record_time time, reader_counters& counters,
                  std::deque<input_record>& out) noexcept
        : link_(link), time_(time), counters_(counters), out_(out) {}

    void frame(bytes b) {
        switch (link_) {
        case detail::link_layer::ethernet:
            if (b.size() < 14) return truncated();
            return ethertype(be16(b.data() + 12), b.subspan(14));
        case detail::link_layer::linux_sll:
            if (b.size() < 16) return truncated();
            return ethertype(be16(b.data() + 14), b.subspan(16));
        case detail::link_layer::linux_sll2:
            if (b.size() < 20) return truncated();
            return ethertype(be16(b.data()), b.subspan(20));
        case detail::link_layer::bsd_null:
        case detail::link_layer::bsd_loop: {
            if (b.size() < 4) return truncated();
            // DLT_NULL holds the AF in the capturing host's byte order, DLT_LOOP in network order.
            std::uint32_t af = be32(b.data());
            if (link_ == detail::link_layer::bsd_null && (af & 0xffff0000u) != 0) af = le32(b.data());
            if (af == 2) return ipv4(b.subspan(4));
            if (af == 10 || af == 24 || af == 28 || af == 30) return ipv6(b.subspan(4)); // Linux, BSDs, macOS
            ++counters_.non_ip;
            return;
        }
        case detail::link_layer::raw_ip:
        case detail::link_layer::raw_ipv4:
        case detail::link_layer::raw_ipv6: return raw_ip(b);
        }
    }

private:
    struct ip_pair {
        sipdetect::ip_address src, dst;
    };

    void raw_ip(bytes b) {
        if (b.empty()) return truncated();
        const unsigned version = b[0] >> 4;
        if (version == 4 && link_ != detail::link_layer::raw_ipv6) return ipv4(b);
        if (version == 6 && link_ != detail::link_layer::raw_ipv4) return ipv6(b);
        ++counters_.non_ip;
    }

    void ethertype(std::uint16_t type, bytes b) {
        for (int tags = 0; type == 0x8100 || type == 0x88a8 || type == 0x9100 || type == 0x9200; ++tags) {
            if (tags == 8 || b.size() < 4) return truncated();
            type = be16(b.data() + 2);
            b = b.subspan(4);
        }
        switch (type) {
        case 0x0800: return ipv4(b);
        case 0x86dd: return ipv6(b);
        case 0x8864: { // PPPoE session: ver/type, code, session id, length, then the PPP protocol
            if (b.size() < 8) return truncated();
            const std::size_t len = be16(b.data() + 4);
            if (len < 2) return truncated();
            const std::uint16_t proto = be16(b.data() + 6);
            bytes payload = b.subspan(8);
            if (len - 2 < payload.size()) payload = payload.first(len - 2);
            if (proto == 0x0021) return ipv4(payload);
            if (proto == 0x0057) return ipv6(payload);
            ++counters_.non_ip;
            return;
        }
        default: ++counters_.non_ip; return;
        }
    }

    void ipv4(bytes b) {
        if (b.size() < 20 || (b[0] >> 4) != 4) return truncated();
        const std::size_t ihl = std::size_t{b[0] & 0x0fu} * 4;
        const std::size_t total = be16(b.data() + 2);
        if (ihl < 20 || ihl > b.size()) return truncated();
        if (total != 0) { // 0: segmentation offload on the capturing host; take what was captured
            if (total < ihl) return truncated();
            if (total < b.size()) b = b.first(total); // drop link-layer padding
        }
        if ((be16(b.data() + 6) & 0x1fff) != 0) {
            ++counters_.fragments_skipped;
            return;
        }
        const ip_pair ips{sipdetect::ip_address::from_v4_bytes(b.data() + 12),
                          sipdetect::ip_address::from_v4_bytes(b.data() + 16)};
        transport(b[9], b.subspan(ihl), ips);
    }

    void ipv6(bytes b) {
        if (b.size() < 40 || (b[0] >> 4) != 6) return truncated();
        const std::size_t plen = be16(b.data() + 4);
        const ip_pair ips{sipdetect::ip_address::from_v6_bytes(b.data() + 8),
                          sipdetect::ip_address::from_v6_bytes(b.data() + 24)};
        std::uint8_t next = b[6];
        b = b.subspan(40);
        if (plen != 0 && plen < b.size()) b = b.first(plen); // 0: jumbogram or offload
        // Each extension header takes at least 8 bytes, so the walk ends.
        for (;;) {
            switch (next) {
            case 0:   // hop-by-hop options
            case 43:  // routing
            case 60:  // destination options
            case 135: // mobility
            case 139: // HIP
            case 140: // shim6
            {
                if (b.size() < 8) return truncated();
                const std::size_t len = (std::size_t{b[1]} + 1) * 8;
                if (len > b.size()) return truncated();
                next = b[0];
                b = b.subspan(len);
                continue;
            }
            case 44: // fragment
                if (b.size() < 8) return truncated();
                if ((be16(b.data() + 2) & 0xfff8) != 0) {
                    ++counters_.fragments_skipped;
                    return;
                }
                next = b[0];
                b = b.subspan(8);
                continue;
            case 51: { // authentication header
                if (b.size() < 8) return truncated();
                const std::size_t len = (std::size_t{b[1]} + 2) * 4;
                if (len > b.size()) return truncated();
                next = b[0];
                b = b.subspan(len);
                continue;
            }
            default: return transport(next, b, ips);
            }
        }
    }

    void transport(std::uint8_t proto, bytes b, const ip_pair& ips) {
        switch (proto) {
        case 1:  // ICMP
        case 58: // ICMPv6
            ++counters_.icmp_skipped;
            return;
        case 17: { // UDP
            if (b.size() < 8) return truncated();
            const std::size_t ulen = be16(b.data() + 4);
            if (ulen != 0 && ulen < 8) return truncated(); // 0: jumbogram
            bytes payload = b.subspan(8);
            if (ulen != 0 && ulen - 8 < payload.size()) payload = payload.first(ulen - 8);
            return sip(payload, ips, be16(b.data()), be16(b.data() + 2), false);
        }
        case 6: { // TCP
            if (b.size() < 20) return truncated();
            const std::size_t doff = std::size_t{static_cast<unsigned>(b[12] >> 4)} * 4;
            if (doff < 20 || doff > b.size()) return truncated();
            return sip(b.subspan(doff), ips, be16(b.data()), be16(b.data() + 2), true);
        }
        default: ++counters_.other_transport; return;
        }
    }

    void sip(bytes payload, const ip_pair& ips, std::uint16_t sport, std::uint16_t dport, bool tcp) {
        if (payload.empty()) {
            ++counters_.empty_payloads;
            return;
        }
        std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
        for (;;) {
            const sipdetect::sip_parse_result res = sipdetect::parse_sip_message(text);
            if (res.status == sipdetect::sip_parse_status::not_sip) {
                // On TCP this is also a segment continuing an earlier message: ignored, but counted.
                ++counters_.not_sip;
                return;
            }
            if (res.status != sipdetect::sip_parse_status::ok) {
                ++counters_.malformed;
                return;
            }
            emit(res.message, ips, sport, dport);
            // A datagram holds one message (RFC 3261 18.3); a segment may hold several.
            const std::size_t used = res.message.message_length;
            if (!tcp || used == 0 || used >= text.size()) return;
            text.remove_prefix(used);
            while (!text.empty() && (text.front() == '\r' || text.front() == '\n')) text.remove_prefix(1);
            if (text.empty()) return;
        }
    }

    void emit(const sipdetect::sip_message_info& m, const ip_pair& ips, std::uint16_t sport, std::uint16_t dport) {
        input_record r;
        r.time = time_;
        r.src = ips.src;
        r.dst = ips.dst;
        r.src_port = sport;
        r.dst_port = dport;
        r.sent_by = sipdetect::sender::source;
        r.method = m.is_request ? m.method : m.cseq_method;
        r.status = m.is_request ? std::uint16_t{0} : m.status;
        if (m.is_request) r.request_uri.assign(m.request_uri);
        r.from_uri.assign(m.from_uri);
        r.to_uri.assign(m.to_uri);
        r.user_agent.assign(m.user_agent);
        r.via_count = m.via_count;
        ++counters_.sip_messages;
        // A bit mask: each field cut short counts once.
        counters_.truncated_fields += static_cast<std::uint64_t>(std::popcount(m.truncated_fields));
        out_.push_back(std::move(r));
    }

    void truncated() noexcept { ++counters_.truncated_packets; }

    detail::link_layer link_;
    sipdetect::record_time time_;
    reader_counters& counters_;
    std::deque<input_record>& out_;
};

} // namespace

void detail::decode_frame(link_layer link, std::span<const std::uint8_t> frame, sipdetect::record_time time,
                          reader_counters& counters, std::deque<input_record>& out) {
    frame_decoder(link, time, counters, out).frame(frame);
}

std::optional<detail::link_layer> detail::link_layer_of_linktype(std::uint32_t linktype) noexcept {
    switch (linktype) {
    case 0: return link_layer::bsd_null;
    case 1: return link_layer::ethernet;
    case 12:
    case 14:
    case 101: return link_layer::raw_ip;
    case 108: return link_layer::bsd_loop;
    case 113: return link_layer::linux_sll;
    case 228: return link_layer::raw_ipv4;
    case 229: return link_layer::raw_ipv6;
    case 276: return link_layer::linux_sll2;
    default: return std::nullopt;
    }
}

std::unique_ptr<record_reader> open_pcap_reader(const std::filesystem::path& path) {
    // libpcap reads a pcapng file only when all its interfaces share one link type: pcapng is read here.
    std::array<std::uint8_t, 4> magic{};
    {
        const auto f = detail::open_file(path);
        if (std::fread(magic.data(), 1, magic.size(), f.get()) == magic.size() &&
            detail::le32(magic.data()) == detail::pcapng_section_header_type)
            return open_pcapng_reader(path);
    }
    return std::make_unique<pcap_reader>(path);
}

namespace detail {
std::unique_ptr<record_reader> open_pcap_stream(const std::string& name, file_ptr stream) {
    return std::make_unique<pcap_reader>(name, std::move(stream));
}
} // namespace detail

} // namespace sipdetect_cli
