// A deliberately simple model of the SIPPROXY rules: exact From URIs in
// std::map and std::vector, no fingerprints, no inline storage, no layout.
// The real detector must produce exactly its events, learned proxies and
// counters on any stream whose record times are distinct. Its victims at
// max_candidates and max_proxies are the worst of all entries; the detector
// picks the worst of 8 sampled ones, which is the same choice while at most 8
// are kept (the tests keep the caps there).
#pragma once

#include "reference_time_rules.hpp"

#include <sipdetect/proxy_detector.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

template <class Record>
class reference_proxy_model {
public:
    explicit reference_proxy_model(sipdetect::proxy_config c) : cfg_(std::move(c)) {}

    void feed(const Record& record) {
        using namespace sipdetect;
        const detail::record_view v = detail::make_view(record);
        if (!time_.admit(v.time, cfg_.max_lateness, stats_)) return;
        if (first_record_ == record_time::max()) first_record_ = v.time;
        if (v.is_counters) {
            // A flow's counters: every request it counts, and the 2xx answers among its responses.
            const sip_counters& c = v.counters;
            if (c.success_responses || c.failure_responses) responses_seen_ = true;
            const std::uint64_t requests =
                std::uint64_t{c.register_requests} + c.options_requests + c.invite_requests + c.other_requests;
            if (!filtered(v) && requests > 0) on_request(v, requests, c.success_responses);
        } else if (v.is_response()) {
            if (v.status < 100 || v.status > 699) {
                ++stats_.malformed_dropped;
                return;
            }
            responses_seen_ = true;
            if (v.status >= 200 && v.status < 300 && !filtered(v)) {
                auto it = candidates_.find(v.client);
                if (it != candidates_.end()) ++it->second.successes;
            }
        } else if (v.method == sip_method::unknown) {
            ++stats_.malformed_dropped;
            return;
        } else if (!filtered(v)) {
            on_request(v, v.method == sip_method::ack ? 0 : 1, 0);
        }
        decide_due(time_.watermark, false);
    }

    std::vector<sipdetect::proxy_event> poll(sipdetect::record_time clock_now) {
        const sipdetect::record_time now = time_.poll_now(clock_now);
        decide_due(now, false);
        const sipdetect::record_duration period = std::min(cfg_.candidate_idle_timeout, cfg_.time_to_death) / 10;
        if (last_sweep_ == sipdetect::record_time::min() || now - last_sweep_ >= period) {
            last_sweep_ = now;
            stats_.candidates_expired += std::erase_if(candidates_, [&](const auto& kv) {
                return !kv.second.crossed && now - kv.second.last_seen > cfg_.candidate_idle_timeout;
            });
            stats_.proxies_expired +=
                std::erase_if(proxies_, [&](const auto& kv) { return now - kv.second.last_seen > cfg_.time_to_death; });
        }
        return std::exchange(pending_, {});
    }

    std::vector<sipdetect::proxy_event> flush(sipdetect::record_time clock_now) {
        decide_due(time_.poll_now(clock_now), true);
        return std::exchange(pending_, {});
    }

    std::vector<sipdetect::known_proxy> learned_proxies() const {
        std::vector<sipdetect::known_proxy> out;
        for (const auto& [address, p] : proxies_) out.push_back(p);
        return out; // std::map keeps address order
    }

    // Every counter but memory_bytes, and future_dropped (no live clock here).
    sipdetect::proxy_stats stats() const {
        sipdetect::proxy_stats s = stats_;
        s.candidates = candidates_.size();
        s.proxies = proxies_.size();
        return s;
    }

private:
    struct candidate {
        sipdetect::record_time first_seen{}, last_seen{}, crossed_at{};
        std::uint64_t requests = 0, successes = 0;
        std::uint8_t min_via = 0, max_via = 0;
        std::vector<std::string> uris; // distinct, in order, at most max_distinct
        bool uris_saturated = false;
        bool evidence = false;         // a second URI was seen: samples are kept from that request on
        std::vector<std::string> uri_sample, user_agents;
        std::vector<sipdetect::ip_address> peers;
        bool crossed = false, judged_scanner_like = false;
    };

    // The From URI as a sender: the parts that mirror the target (a host that
    // is the destination's address; outside REGISTER, a user that is the
    // called user) replaced by a mark.
    static std::string sender_of(const sipdetect::detail::record_view& v) {
        using namespace sipdetect;
        const std::string host(uri_host(v.from_uri)), user(uri_user(v.from_uri));
        const auto address = ip_address::try_parse(host);
        const bool host_mirrored = address && *address == v.server;
        const bool registering = v.is_counters ? v.counters.register_requests > 0 : v.method == sip_method::register_;
        std::string called(uri_user(v.to_uri));
        if (called.empty()) called = std::string(uri_user(v.request_uri));
        const bool user_mirrored = !registering && !user.empty() && user == called;
        if (!host_mirrored && !user_mirrored) return std::string(v.from_uri);
        return "\x01" + (user_mirrored ? std::string("<called>") : user) + "@" +
               (host_mirrored ? std::string("<target>") : host);
    }

    bool filtered(const sipdetect::detail::record_view& v) {
        if (cfg_.filter.empty()) return false;
        const bool out = cfg_.filter.contains(v.client) &&
                         (cfg_.filter_mode == sipdetect::proxy_filter_mode::exclude_devices ||
                          cfg_.filter.contains(v.server));
        if (out) ++stats_.filtered;
        return out;
    }

    void on_request(const sipdetect::detail::record_view& v, std::uint64_t requests, std::uint64_t successes) {
        using namespace sipdetect;
        auto it = candidates_.find(v.client);
        if (it == candidates_.end()) {
            if (auto p = proxies_.find(v.client); p != proxies_.end()) {
                if (v.time - p->second.last_seen <= cfg_.time_to_death) {
                    p->second.last_seen = std::max(p->second.last_seen, v.time);
                    return;
                }
                proxies_.erase(p);
                ++stats_.proxies_expired;
            }
            if (candidates_.size() >= cfg_.max_candidates) {
                // Not crossed first, then the fewest URIs, then the longest silent.
                auto victim = std::min_element(candidates_.begin(), candidates_.end(), [](const auto& a, const auto& b) {
                    if (a.second.crossed != b.second.crossed) return !a.second.crossed;
                    if (a.second.uris.size() != b.second.uris.size()) return a.second.uris.size() < b.second.uris.size();
                    return a.second.last_seen < b.second.last_seen;
                });
                if (victim->second.crossed) {
                    ++stats_.candidates_rejected;
                    return;
                }
                candidates_.erase(victim);
                ++stats_.candidates_evicted;
            }
            it = candidates_.emplace(v.client, candidate{}).first;
            it->second.first_seen = it->second.last_seen = v.time;
        }
        candidate& c = it->second;
        c.first_seen = std::min(c.first_seen, v.time);
        c.last_seen = std::max(c.last_seen, v.time);
        c.requests += requests;
        c.successes += successes;
        const auto via = static_cast<std::uint8_t>(std::min(v.via_count, 255u));
        if (via != 0) {
            c.min_via = c.min_via == 0 ? via : std::min(c.min_via, via);
            c.max_via = std::max(c.max_via, via);
        }
        const std::string uri(v.from_uri);
        const std::string sender = sender_of(v);
        const bool known = std::find(c.uris.begin(), c.uris.end(), sender) != c.uris.end();
        if (!known && !c.uris.empty()) c.evidence = true;
        if (!known && c.uris.size() >= cfg_.max_distinct) c.uris_saturated = true;
        if (!known && c.uris.size() < cfg_.max_distinct) {
            c.uris.push_back(sender);
            // The first URI is the phone's own: samples start with the second.
            if (c.uris.size() >= 2 && c.uri_sample.size() < cfg_.uri_samples) c.uri_sample.push_back(uri.substr(0, 256));
        }
        if (c.evidence) {
            if (c.peers.size() < cfg_.peer_samples && std::find(c.peers.begin(), c.peers.end(), v.server) == c.peers.end())
                c.peers.push_back(v.server);
            const std::string ua(v.user_agent.substr(0, user_agent_cap));
            if (!ua.empty() && c.user_agents.size() < cfg_.max_user_agents &&
                std::find(c.user_agents.begin(), c.user_agents.end(), ua) == c.user_agents.end())
                c.user_agents.push_back(ua);
        }
        if (!c.crossed && c.uris.size() >= cfg_.min_uris) {
            c.crossed = true;
            c.crossed_at = v.time;
            crossed_.push_back(v.client);
        }
    }

    // Verdicts whose answer grace has passed, in the order the candidates crossed.
    void decide_due(sipdetect::record_time now, bool everything) {
        std::vector<sipdetect::ip_address> kept;
        for (const sipdetect::ip_address& a : crossed_) {
            candidate& c = candidates_.at(a);
            const sipdetect::record_time due = sipdetect::detail::later_by(c.crossed_at, cfg_.answer_grace);
            if (now < due && !everything) {
                kept.push_back(a);
                continue;
            }
            const sipdetect::record_time at = std::min(std::max(now, c.crossed_at), due);
            if (responses_seen_ &&
                static_cast<double>(c.successes) < cfg_.min_success_share * static_cast<double>(c.requests)) {
                if (!c.judged_scanner_like) ++stats_.judged_scanner_like;
                c.judged_scanner_like = true;
                c.crossed_at = at; // judged again one grace period later
                kept.push_back(a);
                continue;
            }
            learn(a, c, at);
            candidates_.erase(a);
        }
        crossed_ = std::move(kept);
    }

    void learn(const sipdetect::ip_address& a, const candidate& c, sipdetect::record_time at) {
        using namespace sipdetect;
        const record_time season_end = detail::later_by(first_record_, cfg_.closed_season);
        const bool in_training = c.crossed_at < season_end;
        if (!in_training) {
            proxy_event e;
            e.id = next_id_++;
            e.source = a;
            e.uris = static_cast<std::uint32_t>(c.uris.size());
            e.counts_saturated = c.uris_saturated;
            e.uri_sample = c.uri_sample;
            e.first_seen = c.first_seen;
            e.detected_at = at;
            e.last_seen = c.last_seen;
            e.peers = c.peers;
            e.min_via = c.min_via;
            e.max_via = c.max_via;
            e.user_agents = c.user_agents;
            e.requests = c.requests;
            e.successes = c.successes;
            e.answers_judged = responses_seen_;
            pending_.push_back(std::move(e));
            ++stats_.new_proxy_events;
        } else {
            ++stats_.learned_in_training;
        }
        if (proxies_.size() >= cfg_.max_proxies) {
            proxies_.erase(std::min_element(proxies_.begin(), proxies_.end(), [](const auto& x, const auto& y) {
                return x.second.last_seen < y.second.last_seen;
            }));
            ++stats_.proxies_evicted;
        }
        proxies_[a] = known_proxy{a, c.first_seen, c.last_seen, at, in_training};
    }

    sipdetect::proxy_config cfg_;
    std::map<sipdetect::ip_address, candidate> candidates_;
    std::map<sipdetect::ip_address, sipdetect::known_proxy> proxies_;
    std::vector<sipdetect::ip_address> crossed_;
    std::vector<sipdetect::proxy_event> pending_;
    sipdetect::record_time first_record_ = sipdetect::record_time::max();
    sipdetect::record_time last_sweep_ = sipdetect::record_time::min();
    reference_time_rules time_;
    bool responses_seen_ = false;
    std::uint64_t next_id_ = 1;
    sipdetect::proxy_stats stats_;
};
