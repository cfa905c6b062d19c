// A deliberately simple model of the SIPSCAN rules: exact strings in
// std::map and std::vector, no fingerprints, no inline storage, no layout.
// The real detector must produce exactly its events and counters on any
// stream below max_tracked. At max_tracked the model's victim is the worst of
// all entries; the detector picks the worst of 8 sampled ones, which is the
// same choice while at most 8 are kept and no two entries share a last_seen
// (the tests keep both so).
#pragma once

#include "reference_time_rules.hpp"

#include <sipdetect/scan_detector.hpp>
#include <sipdetect/scanner_tools.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

template <class Record>
class reference_scan_model {
public:
    explicit reference_scan_model(sipdetect::scan_config c) : cfg_(std::move(c)) {}

    void feed(const Record& record) {
        using namespace sipdetect;
        const detail::record_view v = detail::make_view(record);
        if (!time_.admit(v.time, cfg_.max_lateness, stats_)) return;
        if (v.is_counters) {
            // A flow's counters: its requests of each submethod, then its answers to them.
            const sip_counters& c = v.counters;
            const std::pair<scan_submethod, std::uint32_t> counts[] = {{scan_submethod::register_, c.register_requests},
                                                                       {scan_submethod::options, c.options_requests},
                                                                       {scan_submethod::invite, c.invite_requests}};
            for (const auto& [m, n] : counts) {
                if (n == 0 || !enabled(m)) continue;
                on_request(v, m, n);
                if (c.success_responses || c.failure_responses)
                    on_answer(v, m, c.success_responses > 0, c.failure_responses > 0, 0);
            }
            return;
        }
        if (v.is_response() && (v.status < 100 || v.status > 699)) {
            ++stats_.malformed_dropped;
            return;
        }
        scan_submethod m;
        switch (v.method) {
        case sip_method::register_: m = scan_submethod::register_; break;
        case sip_method::options: m = scan_submethod::options; break;
        case sip_method::invite: m = scan_submethod::invite; break;
        default: return;
        }
        if (!enabled(m)) return;
        if (!v.is_response()) on_request(v, m, 1);
        else if (v.status >= 200) on_answer(v, m, v.status < 300, v.status >= 300, v.status);
    }

    std::vector<sipdetect::scan_event> poll(sipdetect::record_time clock_now) {
        using namespace sipdetect;
        const record_time now = time_.poll_now(clock_now);
        std::vector<scan_event> out;
        std::vector<key> still;
        for (const key& k : active_) {
            source& s = sources_.at(k);
            if (s.pending_start) {
                out.push_back(event(scan_phase::start, k, s));
                ++stats_.events_started;
                s.pending_start = false;
                s.changed = false;
                s.last_emitted = now;
            }
            if (now - s.last_seen >= cfg_.event_idle_timeout) {
                out.push_back(event(scan_phase::end, k, s));
                ++stats_.events_ended;
                sources_.erase(k);
                continue;
            }
            if (s.changed && now - s.last_emitted >= cfg_.update_interval) {
                out.push_back(event(scan_phase::update, k, s));
                s.changed = false;
                s.last_emitted = now;
            }
            still.push_back(k);
        }
        active_ = still;
        if (last_sweep_ == record_time::min() || now - last_sweep_ >= cfg_.source_idle_timeout / 10) {
            last_sweep_ = now;
            stats_.sources_expired += std::erase_if(sources_, [&](const auto& kv) {
                return kv.second.last_seen < now - cfg_.source_idle_timeout && !kv.second.active;
            });
        }
        std::stable_sort(out.begin(), out.end(), [](const scan_event& a, const scan_event& b) {
            return a.id != b.id ? a.id < b.id : a.phase < b.phase;
        });
        return out;
    }

    std::vector<sipdetect::scan_event> flush(sipdetect::record_time clock_now) {
        auto out = poll(clock_now);
        for (const key& k : active_) {
            out.push_back(event(sipdetect::scan_phase::end, k, sources_.at(k)));
            ++stats_.events_ended;
            sources_.erase(k);
        }
        active_.clear();
        return out;
    }

    // Every counter but memory_bytes, and future_dropped (no live clock here).
    sipdetect::scan_stats stats() const {
        sipdetect::scan_stats s = stats_;
        s.tracked = sources_.size();
        return s;
    }

private:
    struct target {
        sipdetect::ip_address host;
        std::uint16_t port;
        std::string user;
        bool success = false, failure = false;
        std::uint16_t status = 0;
    };
    struct source {
        sipdetect::record_time first_seen{}, last_seen{}, last_emitted{};
        std::uint64_t requests = 0;
        std::vector<target> targets;
        bool saturated = false;
        std::vector<std::string> agents;
        std::uint8_t tool = 0;
        bool active = false, pending_start = false, changed = false;
        std::uint64_t id = 0;
    };
    using key = std::pair<sipdetect::ip_address, sipdetect::scan_submethod>;

    bool enabled(sipdetect::scan_submethod m) const {
        using sipdetect::scan_submethod;
        return (m == scan_submethod::register_ && cfg_.register_scan) || (m == scan_submethod::options && cfg_.options_scan) ||
               (m == scan_submethod::invite && cfg_.invite_scan);
    }

    static std::string called_user(const sipdetect::detail::record_view& v) {
        std::string user(sipdetect::uri_user(v.to_uri));
        if (user.empty()) user = std::string(sipdetect::uri_user(v.request_uri));
        return user.substr(0, 256);
    }

    // Answers to the requester's requests to this target; status 0: a flow's counters, which carry none.
    void on_answer(const sipdetect::detail::record_view& v, sipdetect::scan_submethod m, bool success, bool failure,
                   std::uint16_t status) {
        auto it = sources_.find(key{v.client, m});
        if (it == sources_.end()) return;
        const std::string user = called_user(v);
        const auto is_target = [&](const target& t) {
            return t.host == v.server && t.port == v.server_port && t.user == user;
        };
        // An entry with one target matches only that target's answers; one with more matches any.
        if (has_evidence(it->second) || is_target(it->second.targets.front())) ++stats_.responses_matched;
        for (target& t : it->second.targets) {
            if (!is_target(t)) continue;
            const bool fresh = (success && !t.success) || (failure && !t.failure);
            t.success = t.success || success;
            t.failure = t.failure || failure;
            // A target that accepted once is reported as accepted.
            if (status != 0 && !(t.status >= 200 && t.status < 300)) t.status = status;
            if (it->second.active && fresh) it->second.changed = true;
        }
    }

    void on_request(const sipdetect::detail::record_view& v, sipdetect::scan_submethod m, std::uint64_t count) {
        using namespace sipdetect;
        if (cfg_.ignore_relayed && v.via_count >= 2) {
            ++stats_.relayed_ignored;
            return;
        }
        if (!cfg_.destination_filter.empty() && !cfg_.destination_filter.contains(v.server)) {
            ++stats_.filtered;
            return;
        }
        const key k{v.client, m};
        auto it = sources_.find(k);
        if (it == sources_.end()) {
            if (sources_.size() >= cfg_.max_tracked) {
                // No active scan first, then the fewest targets, then the longest silent.
                auto victim = std::min_element(sources_.begin(), sources_.end(), [](const auto& a, const auto& b) {
                    if (a.second.active != b.second.active) return !a.second.active;
                    if (a.second.targets.size() != b.second.targets.size())
                        return a.second.targets.size() < b.second.targets.size();
                    return a.second.last_seen < b.second.last_seen;
                });
                if (victim->second.active) {
                    ++stats_.sources_rejected;
                    return;
                }
                ++stats_.sources_evicted;
                if (has_evidence(victim->second)) ++stats_.sources_evicted_with_progress;
                sources_.erase(victim);
            }
            it = sources_.emplace(k, source{}).first;
            it->second.first_seen = it->second.last_seen = v.time;
        }
        source& s = it->second;
        s.first_seen = std::min(s.first_seen, v.time);
        s.last_seen = std::max(s.last_seen, v.time);
        s.requests += count;
        stats_.requests += count;
        const std::string user = called_user(v);
        const bool known = std::any_of(s.targets.begin(), s.targets.end(), [&](const target& t) {
            return t.host == v.server && t.port == v.server_port && t.user == user;
        });
        if (!known) {
            if (s.targets.size() >= cfg_.max_distinct) s.saturated = true;
            else s.targets.push_back(target{v.server, v.server_port, user});
        }
        if (has_evidence(s)) {
            // The tool is named from the agents as they are recorded, or from sundayddr's From user.
            if (s.tool == 0 && uri_user(v.from_uri) == "sipsscuser") s.tool = detail::match_scanner_tool({}, "sipsscuser");
            const std::string ua(v.user_agent.substr(0, user_agent_cap));
            if (!ua.empty() && s.agents.size() < cfg_.max_user_agents &&
                std::find(s.agents.begin(), s.agents.end(), ua) == s.agents.end()) {
                s.agents.push_back(ua);
                if (s.tool == 0) s.tool = detail::match_scanner_tool(ua, uri_user(v.from_uri));
            }
            if (s.active) s.changed = true;
        }
        if (!s.active && s.targets.size() >= cfg_.threshold &&
            (m != scan_submethod::register_ ||
             static_cast<double>(successes(s)) <= cfg_.max_success_share * static_cast<double>(s.targets.size()))) {
            s.active = true;
            s.pending_start = true;
            s.changed = false;
            s.id = next_id_++;
            active_.push_back(k);
        }
    }

    // Evidence beyond the first target is only kept once the source probes a second one.
    bool has_evidence(const source& s) const { return s.targets.size() >= 2 || cfg_.threshold <= 1; }

    static std::uint32_t successes(const source& s) {
        return static_cast<std::uint32_t>(std::count_if(s.targets.begin(), s.targets.end(), [](const target& t) { return t.success; }));
    }

    sipdetect::scan_event event(sipdetect::scan_phase phase, const key& k, const source& s) const {
        using namespace sipdetect;
        scan_event e;
        e.phase = phase;
        e.id = s.id;
        e.source = k.first;
        e.submethod = k.second;
        std::set<ip_address> hosts;
        std::set<std::string> users;
        for (const target& t : s.targets) {
            hosts.insert(t.host);
            users.insert(t.user);
        }
        e.hosts = static_cast<std::uint32_t>(hosts.size());
        e.users = static_cast<std::uint32_t>(users.size());
        e.targets = static_cast<std::uint32_t>(s.targets.size());
        e.counts_saturated = s.saturated;
        if (e.hosts >= cfg_.threshold && e.users >= cfg_.threshold) e.kind = scan_kind::mixed;
        else e.kind = e.hosts >= e.users ? scan_kind::horizontal : scan_kind::vertical;
        e.requests = s.requests;
        e.successful_targets = successes(s);
        e.failed_targets = static_cast<std::uint32_t>(
            std::count_if(s.targets.begin(), s.targets.end(), [](const target& t) { return t.failure; }));
        e.first_seen = s.first_seen;
        e.last_seen = s.last_seen;
        // The first target's details are not kept while it is the only one.
        const std::size_t from = cfg_.threshold > 1 ? 1 : 0;
        for (std::size_t i = from; i < s.targets.size() && i - from < cfg_.evidence_targets; ++i) {
            const target& t = s.targets[i];
            e.sample.push_back(scan_target{t.host, t.port, t.user.substr(0, scan_user_cap), t.success, t.failure, t.status});
        }
        e.user_agents = s.agents;
        e.tool = std::string(detail::scanner_tool_name(s.tool));
        return e;
    }

    sipdetect::scan_config cfg_;
    std::map<key, source> sources_;
    std::vector<key> active_;
    sipdetect::record_time last_sweep_ = sipdetect::record_time::min();
    reference_time_rules time_;
    std::uint64_t next_id_ = 1;
    sipdetect::scan_stats stats_;
};
