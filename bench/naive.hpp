// sipdetect benchmarks: the naive baseline an integrator would write first.
//
// Per source (keyed by the address text): one std::unordered_set<std::string>
// of targets "host:port:user" per method and one of From URIs, never capped.
// It makes the detectors' decisions on these workloads:
//   SIPSCAN  - a request with REGISTER, OPTIONS or INVITE and fewer than two
//              Via adds a target; `threshold` distinct targets for one method
//              make the source a scanner;
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
    naive_detector(std::uint32_t threshold, std::uint32_t min_uris, double min_success_share)
        : threshold_(threshold), min_uris_(min_uris), min_success_share_(min_success_share) {}

    void feed(const sip_flow& r) {
        using sipdetect::sip_method;
        const bool response = r.status != 0;
        if (response && (r.status < 100 || r.status > 699)) return;
        // Records are oriented as sent: a response comes from the server.
        const sipdetect::ip_address& client = response ? r.dst : r.src;
        const sipdetect::ip_address& server = response ? r.src : r.dst;
        const std::uint16_t server_port = response ? r.src_port : r.dst_port;
        if (response) {
            responses_seen_ = true;
            if (r.status >= 200 && r.status < 300) {
                const auto it = sources_.find(client.to_string());
                if (it != sources_.end()) ++it->second.successes;
            }
            return;
        }
        if (r.method == sip_method::unknown) return;
        source& s = sources_[client.to_string()];
        s.from_uris.emplace(r.from_uri);
        if (r.method != sip_method::ack) ++s.requests;

        if (r.via_count >= 2) return; // relayed: the transport source is a proxy
        if (r.method != sip_method::register_ && r.method != sip_method::options && r.method != sip_method::invite)
            return;
        std::string_view user = sipdetect::uri_user(r.to_uri);
        if (user.empty()) user = sipdetect::uri_user(r.request_uri);
        std::string target = server.to_string();
        target += ':';
        target += std::to_string(server_port);
        target += ':';
        target += user;
        auto& targets = s.targets[static_cast<int>(r.method)];
        if (targets.insert(std::move(target)).second && !s.scanner && targets.size() >= threshold_) {
            s.scanner = true;
            ++scanners_;
        }
    }

    std::size_t scanners() const noexcept { return scanners_; }
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
    struct source {
        std::unordered_map<int, std::unordered_set<std::string>> targets; // by method
        std::unordered_set<std::string> from_uris;
        std::uint64_t requests = 0, successes = 0;
        bool scanner = false;
    };

    std::uint32_t threshold_;
    std::uint32_t min_uris_;
    double min_success_share_;
    std::unordered_map<std::string, source> sources_;
    bool responses_seen_ = false;
    std::size_t scanners_ = 0;
};

} // namespace bench
