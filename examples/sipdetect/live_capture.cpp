// sipdetect command-line program: live capture with libpcap.
#include "live_capture.hpp"

#include "readers_detail.hpp"

#include <pcap/pcap.h>

#include <cstdint>
#include <deque>
#include <span>
#include <utility>

namespace sipdetect_cli {

namespace {

struct pcap_closer {
    void operator()(pcap_t* p) const noexcept { pcap_close(p); }
};

// Whole packets: a SIP message over UDP can be a jumbo datagram.
constexpr int snapshot_length = 65535;
// The kernel buffer absorbs bursts while the loop checkpoints; drops beyond it are counted.
constexpr int kernel_buffer_bytes = 16 << 20;
// Packets decoded per read, so that one busy interface cannot starve the loop.
constexpr int packets_per_dispatch = 256;

class live_capture final : public live_source {
public:
    live_capture(const std::string& interface, const capture_settings& settings) : interface_(interface) {
        char errbuf[PCAP_ERRBUF_SIZE] = {};
        pcap_.reset(pcap_create(interface.c_str(), errbuf));
        if (!pcap_) fail(errbuf);
        // Immediate mode: a packet is handed over when it arrives, not when a
        // buffer fills, so that a scan's start is printed within the second.
        if (pcap_set_snaplen(pcap_.get(), snapshot_length) != 0 ||
            pcap_set_promisc(pcap_.get(), settings.promiscuous ? 1 : 0) != 0 ||
            pcap_set_immediate_mode(pcap_.get(), 1) != 0 ||
            pcap_set_buffer_size(pcap_.get(), kernel_buffer_bytes) != 0)
            fail("cannot configure the capture");
        if (const int rc = pcap_activate(pcap_.get()); rc < 0) {
            // libpcap's detail, when it gives one, follows its status ("No such device exists: ...").
            const std::string detail = pcap_geterr(pcap_.get());
            if (rc == PCAP_ERROR) fail(detail);
            fail(detail.empty() ? pcap_statustostr(rc) : std::string(pcap_statustostr(rc)) + ": " + detail);
        }
        const int dlt = pcap_datalink(pcap_.get());
        // Branches, not a chain of std::optional: g++ 12 at -Os takes that chain's
        // value for uninitialised (-Wmaybe-uninitialized, a false positive).
        if (dlt == DLT_RAW) {
            link_ = detail::link_layer::raw_ip;
        } else if (dlt == DLT_LOOP) {
            link_ = detail::link_layer::bsd_loop;
        } else if (const auto link = dlt < 0 ? std::nullopt
                                             : detail::link_layer_of_linktype(static_cast<std::uint32_t>(dlt))) {
            link_ = *link;
        } else {
            fail("unsupported link type " + std::to_string(dlt));
        }
        const std::string filter = settings.filter.value_or(default_capture_filter(dlt == DLT_EN10MB));
        bpf_program program{};
        if (pcap_compile(pcap_.get(), &program, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
            fail("capture filter \"" + filter + "\": " + pcap_geterr(pcap_.get()));
        const int set = pcap_setfilter(pcap_.get(), &program);
        pcap_freecode(&program);
        if (set != 0) fail(std::string("cannot set the capture filter: ") + pcap_geterr(pcap_.get()));
        if (pcap_setnonblock(pcap_.get(), 1, errbuf) != 0) fail(errbuf);
        fd_ = pcap_get_selectable_fd(pcap_.get());
        if (fd_ < 0) fail("the capture has no descriptor to wait on");
    }

    pull next(input_record& out) override {
        if (pending_.empty()) {
            const int rc = pcap_dispatch(pcap_.get(), packets_per_dispatch, &live_capture::on_packet,
                                         reinterpret_cast<u_char*>(this));
            if (rc == PCAP_ERROR) fail(pcap_geterr(pcap_.get()));
            if (pending_.empty()) return pull::none;
        }
        out = std::move(pending_.front());
        pending_.pop_front();
        ++counters_.records;
        return pull::record;
    }

    int wait_fd() const noexcept override { return fd_; }

    reader_counters counters() const override {
        reader_counters c = counters_;
        if (pcap_stat s{}; pcap_stats(pcap_.get(), &s) == 0) c.capture_drops = std::uint64_t{s.ps_drop} + s.ps_ifdrop;
        return c;
    }

    std::string name() const override { return interface_; }

private:
    static void on_packet(u_char* self, const pcap_pkthdr* header, const u_char* data) {
        reinterpret_cast<live_capture*>(self)->decode(*header, data);
    }

    void decode(const pcap_pkthdr& header, const u_char* data) {
        ++counters_.packets;
        const auto time = detail::capture_time(static_cast<std::int64_t>(header.ts.tv_sec),
                                               static_cast<std::int64_t>(header.ts.tv_usec));
        if (!time) ++counters_.bad_timestamps;
        detail::decode_frame(link_, std::span<const std::uint8_t>(data, header.caplen),
                             time.value_or(sipdetect::record_time{}), counters_, pending_);
    }

    [[noreturn]] void fail(const std::string& what) const { detail::fail(interface_, "", what); }

    std::string interface_;
    std::unique_ptr<pcap_t, pcap_closer> pcap_;
    detail::link_layer link_ = detail::link_layer::ethernet;
    int fd_ = -1;
    std::deque<input_record> pending_;
    reader_counters counters_;
};

} // namespace

std::string default_capture_filter(bool ethernet) {
    const std::string sip = "((udp or tcp) and (port 5060 or port 5061))";
    // ICMPv4 errors: unreachable, source quench, redirect, time exceeded, parameter problem;
    // ICMPv6 errors are the types below 128.
    const std::string icmp_errors =
        "(icmp and (icmp[icmptype] == icmp-unreach or icmp[icmptype] == icmp-sourcequench or "
        "icmp[icmptype] == icmp-redirect or icmp[icmptype] == icmp-timxceed or icmp[icmptype] == icmp-paramprob)) "
        "or (icmp6 and ip6[40] < 128)";
    const std::string wanted = sip + " or " + icmp_errors;
    return ethernet ? wanted + " or (vlan and (" + wanted + "))" : wanted;
}

std::unique_ptr<live_source> open_live_capture(const std::string& interface, const capture_settings& settings) {
    return std::make_unique<live_capture>(interface, settings);
}

} // namespace sipdetect_cli
