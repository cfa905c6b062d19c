// sipdetect benchmarks: the naive baseline an integrator would write first.
//
// Per source (keyed by the address text), for each method: std::unordered_set
// <std::string>s of targets "host:port:user", of hosts, of called users and of
// targets that accepted (2xx), and one set of From URIs; nothing is capped.
// It makes the detectors' decisions:
//   SIPSCAN  - a request with REGISTER, OPTIONS or INVITE and fewer than two
//              Via adds a target; `threshold` distinct targets for one method
//              make the source a scanner, except a REGISTER scan while more
//              than `max_success_share` of its targets accepted; the scan is
//              horizontal, vertical or mixed by its distinct hosts and users
//              when it starts (scan_detector's rule);
//   SIPPROXY - every request adds its From URI; `min_uris` distinct URIs make
//              a proxy, unless the feed carries responses and fewer than
//              `min_success_share` of its requests (ACK excluded) got a 2xx.
#pragma once

#include "workload.hpp"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace bench {

class naive_detector {
public:
    naive_detector(std::uint32_t threshold, double max_register_success_share, std::uint32_t min_uris,
                   double min_success_share)
        : threshold_(threshold), max_register_success_share_(max_register_success_share), min_uris_(min_uris),
          min_success_share_(min_success_share) {}

    void feed(const sip_flow& r) {
        using sipdetect::sip_method;
        const bool response = r.status != 0;
        if (response && (r.status < 100 || r.status > 699)) return;
        // Records are oriented as sent: a response comes from the server.
        const sipdetect::ip_address& client = response ? r.dst : r.src;
        const sipdetect::ip_address& server = response ? r.src : r.dst;
        const std::uint16_t server_port = response ? r.src_port : r.dst_port;
        const bool scanned_method =
            r.method == sip_method::register_ || r.method == sip_method::options || r.method == sip_method::invite;
        if (response) {
            responses_seen_ = true;
            if (r.status < 200 || r.status >= 300) return;
            const auto it = sources_.find(client.to_string());
            if (it == sources_.end()) return;
            ++it->second.successes;
            if (!scanned_method) return;
            const auto m = it->second.scans.find(static_cast<int>(r.method));
            if (m == it->second.scans.end()) return;
            std::string target = target_of(server.to_string(), server_port, called_user(r));
            if (m->second.targets.count(target) != 0) m->second.accepted.insert(std::move(target));
            return;
        }
        if (r.method == sip_method::unknown) return;
        source& s = sources_[client.to_string()];
        s.from_uris.emplace(r.from_uri);
        if (r.method != sip_method::ack) ++s.requests;

        if (r.via_count >= 2) return; // relayed: the transport source is a proxy
        if (!scanned_method) return;
        const std::string_view user = called_user(r);
        std::string host = server.to_string();
        scan& sc = s.scans[static_cast<int>(r.method)];
        sc.targets.insert(target_of(host, server_port, user));
        sc.hosts.insert(std::move(host));
        sc.users.emplace(user);
        if (sc.started || sc.targets.size() < threshold_) return;
        if (r.method == sip_method::register_ &&
            static_cast<double>(sc.accepted.size()) >
                max_register_success_share_ * static_cast<double>(sc.targets.size()))
            return;
        sc.started = true;
        if (!s.scanner) ++scanners_;
        s.scanner = true;
        const bool mixed = sc.hosts.size() >= threshold_ && sc.users.size() >= threshold_;
        if (!mixed && sc.hosts.size() < sc.users.size()) ++vertical_scans_;
    }

    std::size_t scanners() const noexcept { return scanners_; }
    std::size_t vertical_scans() const noexcept { return vertical_scans_; }
    std::size_t proxies() const {
        std::size_t n = 0;
        for (const auto& [address, s] : sources_) {
            if (s.from_uris.size() < min_uris_) continue;
            if (responses_seen_ &&
                static_cast<double>(s.successes) < min_success_share_ * static_cast<double>(s.requests))
                continue;
            ++n;
        }
        return n;
    }
    std::size_t tracked() const noexcept { return sources_.size(); }

private:
    struct scan {
        std::unordered_set<std::string> targets, hosts, users, accepted;
        bool started = false;
    };
    struct source {
        std::unordered_map<int, scan> scans; // by method
        std::unordered_set<std::string> from_uris;
        std::uint64_t requests = 0, successes = 0;
        bool scanner = false; // a scan of some method started
    };

    // scan_detector's rule (detail::called_user, which takes a record_view:
    // a string-pair form for sharing it cost the detector 5 instructions a record).
    static std::string_view called_user(const sip_flow& r) {
        const std::string_view user = sipdetect::uri_user(r.to_uri);
        return user.empty() ? sipdetect::uri_user(r.request_uri) : user;
    }
    static std::string target_of(std::string_view host, std::uint16_t port, std::string_view user) {
        std::string target(host);
        target += ':';
        target += std::to_string(port);
        target += ':';
        target += user;
        return target;
    }

    std::uint32_t threshold_;
    double max_register_success_share_;
    std::uint32_t min_uris_;
    double min_success_share_;
    std::unordered_map<std::string, source> sources_;
    bool responses_seen_ = false;
    std::size_t scanners_ = 0;
    std::size_t vertical_scans_ = 0;
};

} // namespace bench
