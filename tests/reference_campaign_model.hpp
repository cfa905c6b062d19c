// A deliberately simple model of the SIPCAMPAIGN rules: exact strings in
// std::map, std::set and std::vector, the fingerprint as the tuple of its
// words, no hashing, no caps. The real detector must produce exactly its
// events and counters on any stream below max_tracked, max_groups and
// max_members.
#pragma once

#include "reference_time_rules.hpp"

#include <sipdetect/campaign_detector.hpp>
#include <sipdetect/scanner_tools.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

template <class Record>
class reference_campaign_model {
public:
    explicit reference_campaign_model(sipdetect::campaign_config c) : cfg_(std::move(c)) {}

    void feed(const Record& record) {
        using namespace sipdetect;
        const detail::record_view v = detail::make_view(record);
        if (!time_.admit(v.time, cfg_.max_lateness, stats_)) return;
        if (v.is_response() && (v.status < 100 || v.status > 699)) {
            ++stats_.malformed_dropped;
            return;
        }
        scan_submethod m;
        if (v.is_counters || !detail::to_submethod(v.method, m) || !enabled(m)) return;
        const source_key key{v.client.to_string(), static_cast<int>(m)};
        if (!v.is_response()) on_request(v, key, m);
        else if (v.status >= 200 && v.status < 300 && m != scan_submethod::options) on_answer(key);
    }

    std::vector<sipdetect::campaign_event> poll(sipdetect::record_time clock) { return emit(time_.poll_now(clock), false); }
    std::vector<sipdetect::campaign_event> flush(sipdetect::record_time clock) { return emit(time_.poll_now(clock), true); }
    const sipdetect::campaign_stats& stats() const {
        stats_.tracked = sources_.size();
        stats_.groups = groups_.size();
        return stats_;
    }

private:
    using source_key = std::pair<std::string, int>;
    // submethod, User-Agent, From user mirrors?, From user, From host mirrors?, From host
    using fingerprint = std::tuple<int, std::string, bool, std::string, bool, std::string>;
    using target = std::tuple<std::string, int, std::string>;
    enum class status { eligible, scanner, answered, inconsistent };

    struct source {
        std::string address;
        fingerprint fp;
        status state = status::eligible;
        bool member = false;
        sipdetect::record_time first_seen{}, last_seen{};
        std::uint64_t requests = 0;
        std::map<target, sipdetect::record_time> targets;
    };
    struct group {
        std::string user_agent;
        std::vector<source_key> members; // in the order they joined
        sipdetect::record_time last_seen{};
        bool dirty = false;
        bool active = false, start_pending = false, changed = false;
        std::uint64_t event_id = 0;
        sipdetect::record_time last_emitted{};
        std::uint32_t sources = 0, hosts = 0, users = 0, targets = 0;
        std::string text;
        std::string tool;
        int submethod = 0;
    };

    bool enabled(sipdetect::scan_submethod m) const {
        switch (m) {
        case sipdetect::scan_submethod::register_: return cfg_.register_scan;
        case sipdetect::scan_submethod::options: return cfg_.options_scan;
        case sipdetect::scan_submethod::invite: return cfg_.invite_scan;
        }
        return false;
    }

    static std::string words(std::string_view s, std::size_t cap) { return std::string(s.substr(0, cap)); }

    static std::string quoted(const std::string& s) {
        std::string out = "\"";
        for (const char c : s) out += (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\') ? '?' : c;
        return out + "\"";
    }

    void on_request(const sipdetect::detail::record_view& v, const source_key& key, sipdetect::scan_submethod m) {
        using namespace sipdetect;
        if (cfg_.ignore_relayed && v.via_count >= 2) {
            ++stats_.relayed_ignored;
            return;
        }
        if (!cfg_.destination_filter.empty() && !cfg_.destination_filter.contains(v.server)) {
            ++stats_.filtered;
            return;
        }
        ++stats_.requests;
        const std::string from_user(uri_user(v.from_uri));
        std::string called(uri_user(v.to_uri));
        if (called.empty()) called = std::string(uri_user(v.request_uri));
        const bool user_mirrors = !from_user.empty() && from_user == called;
        const std::string host(sipdetect::uri_host(v.from_uri));
        const bool host_mirrors = detail::host_is(host, v.server);
        const fingerprint fp{static_cast<int>(m), words(v.user_agent, user_agent_cap), user_mirrors,
                             user_mirrors ? "" : words(from_user, detail::fingerprint_part_cap), host_mirrors,
                             host_mirrors ? "" : words(host, detail::fingerprint_part_cap)};
        auto [it, added] = sources_.try_emplace(key);
        source& s = it->second;
        if (added) {
            s.address = key.first;
            s.fp = fp;
            s.first_seen = s.last_seen = v.time;
        }
        s.first_seen = std::min(s.first_seen, v.time);
        s.last_seen = std::max(s.last_seen, v.time);
        ++s.requests;
        if (s.state != status::eligible) return;
        if (s.fp != fp) {
            exclude(key, s, status::inconsistent);
            return;
        }
        const target t{v.server.to_string(), v.server_port, called.substr(0, detail::max_hashed_user)};
        bool changed = false;
        if (auto seen = s.targets.find(t); seen != s.targets.end()) {
            changed = v.time > seen->second;
            seen->second = std::max(seen->second, v.time);
        } else {
            if (s.targets.size() + 1 >= cfg_.scan_threshold) {
                exclude(key, s, status::scanner);
                return;
            }
            s.targets.emplace(t, v.time);
            changed = true;
        }
        auto [git, new_group] = groups_.try_emplace(s.fp);
        group& g = git->second;
        if (new_group) {
            g.submethod = static_cast<int>(m);
            g.tool = std::string(detail::scanner_tool_name(
                detail::match_scanner_tool(std::get<1>(fp), user_mirrors ? "" : std::get<3>(fp))));
            g.text = std::string(to_string(m)) + "; User-Agent " + (std::get<1>(fp).empty() ? "absent" : quoted(std::get<1>(fp))) +
                     "; From user " +
                     (user_mirrors ? "mirrors the called user" : std::get<3>(fp).empty() ? "absent" : quoted(std::get<3>(fp))) +
                     "; From host " +
                     (host_mirrors ? "mirrors the target" : std::get<5>(fp).empty() ? "absent" : quoted(std::get<5>(fp)));
        }
        if (!s.member) {
            g.members.push_back(key);
            s.member = true;
            changed = true;
        }
        g.last_seen = std::max(g.last_seen, v.time);
        if (changed && !g.dirty) {
            g.dirty = true;
            dirty_.push_back(s.fp);
        }
    }

    void on_answer(const source_key& key) {
        const auto it = sources_.find(key);
        if (it == sources_.end()) return;
        ++stats_.responses_matched;
        if (it->second.state == status::eligible) exclude(key, it->second, status::answered);
    }

    void exclude(const source_key& key, source& s, status why) {
        if (why == status::scanner) ++stats_.scanners_excluded;
        if (why == status::answered) ++stats_.answered_excluded;
        if (why == status::inconsistent) ++stats_.inconsistent_excluded;
        unlist(key, s);
        s.state = why;
        s.targets.clear();
    }

    void unlist(const source_key& key, source& s) {
        if (!s.member) return;
        s.member = false;
        if (auto g = groups_.find(s.fp); g != groups_.end())
            g->second.members.erase(std::find(g->second.members.begin(), g->second.members.end(), key));
    }

    // Counted at each poll, over the window ending at the group's latest probe.
    void recount(group& g) {
        const sipdetect::record_time now = g.last_seen;
        std::set<target> targets;
        std::set<std::string> hosts, users;
        std::uint32_t sources = 0;
        for (const source_key& key : g.members) {
            bool probed = false;
            for (const auto& [t, at] : sources_.at(key).targets) {
                if (now > at && now - at > cfg_.campaign_window) continue;
                targets.insert(t);
                hosts.insert(std::get<0>(t));
                users.insert(std::get<2>(t));
                probed = true;
            }
            sources += probed ? 1 : 0;
        }
        const auto n_targets = static_cast<std::uint32_t>(targets.size());
        const auto n_hosts = static_cast<std::uint32_t>(hosts.size());
        const auto n_users = static_cast<std::uint32_t>(users.size());
        if (g.active) {
            if (n_targets != g.targets || n_hosts != g.hosts || n_users != g.users || sources != g.sources) g.changed = true;
        } else if (n_targets >= cfg_.campaign_threshold && sources >= cfg_.min_sources) {
            g.active = g.start_pending = true;
            g.changed = false;
            g.event_id = next_id_++;
            for (const auto& [fp, other] : groups_)
                if (&other == &g) active_.push_back(fp);
        }
        g.sources = sources;
        g.targets = n_targets;
        g.hosts = n_hosts;
        g.users = n_users;
    }

    sipdetect::campaign_event event(sipdetect::scan_phase phase, const group& g) const {
        using namespace sipdetect;
        campaign_event e;
        e.phase = phase;
        e.id = g.event_id;
        e.submethod = static_cast<scan_submethod>(g.submethod);
        e.sources = g.sources;
        e.hosts = g.hosts;
        e.users = g.users;
        e.targets = g.targets;
        if (e.hosts >= cfg_.campaign_threshold && e.users >= cfg_.campaign_threshold) e.kind = scan_kind::mixed;
        else e.kind = e.hosts >= e.users ? scan_kind::horizontal : scan_kind::vertical;
        e.first_seen = e.last_seen = g.last_seen;
        for (const source_key& key : g.members) {
            const source& s = sources_.at(key);
            if (e.source_sample.size() < cfg_.source_samples) e.source_sample.push_back(ip_address::parse(s.address));
            e.requests += s.requests;
            e.first_seen = std::min(e.first_seen, s.first_seen);
        }
        e.tool = g.tool;
        e.fingerprint = g.text;
        return e;
    }

    std::vector<sipdetect::campaign_event> emit(sipdetect::record_time now, bool end_all) {
        using namespace sipdetect;
        // Counted when an event can follow: a group not yet a campaign at once,
        // an active one when its start, update or end is due.
        std::vector<fingerprint> still_dirty;
        for (const fingerprint& fp : dirty_) {
            const auto g = groups_.find(fp);
            if (g == groups_.end() || !g->second.dirty) continue;
            const group& c = g->second;
            if (c.active && !c.start_pending && !end_all && now - c.last_seen < cfg_.event_idle_timeout &&
                now - c.last_emitted < cfg_.update_interval) {
                still_dirty.push_back(fp);
                continue;
            }
            recount(g->second);
            g->second.dirty = false;
        }
        dirty_ = still_dirty;
        std::vector<campaign_event> out;
        std::vector<fingerprint> ended;
        for (const fingerprint& fp : active_) {
            group& g = groups_.at(fp);
            if (g.start_pending) out.push_back(event(scan_phase::start, g));
            const bool idle = now - g.last_seen >= cfg_.event_idle_timeout;
            if (idle || end_all) out.push_back(event(scan_phase::end, g));
            else if (g.changed && !g.start_pending && now - g.last_emitted >= cfg_.update_interval)
                out.push_back(event(scan_phase::update, g));
            if (g.start_pending) {
                g.start_pending = g.changed = false;
                g.last_emitted = now;
                ++stats_.events_started;
            }
            if (idle || end_all) ended.push_back(fp);
            else if (g.changed && now - g.last_emitted >= cfg_.update_interval) {
                g.changed = false;
                g.last_emitted = now;
            }
        }
        std::stable_sort(out.begin(), out.end(), [](const campaign_event& a, const campaign_event& b) {
            return a.id != b.id ? a.id < b.id : a.phase < b.phase;
        });
        for (const fingerprint& fp : ended) {
            ++stats_.events_ended;
            active_.erase(std::find(active_.begin(), active_.end(), fp));
            for (const source_key& key : groups_.at(fp).members) sources_.at(key).member = false;
            groups_.erase(fp);
        }
        sweep(now);
        return out;
    }

    void sweep(sipdetect::record_time now) {
        const sipdetect::record_duration period = cfg_.source_idle_timeout / 10;
        if (last_sweep_ != sipdetect::record_time::min() && now - last_sweep_ < period) return;
        last_sweep_ = now;
        for (auto it = sources_.begin(); it != sources_.end();) {
            if (now > it->second.last_seen && now - it->second.last_seen > cfg_.source_idle_timeout) {
                unlist(it->first, it->second);
                it = sources_.erase(it);
                ++stats_.sources_expired;
            } else {
                ++it;
            }
        }
        for (auto it = groups_.begin(); it != groups_.end();) {
            if (it->second.members.empty() && !it->second.active) {
                it = groups_.erase(it);
                ++stats_.groups_expired;
            } else {
                ++it;
            }
        }
    }

    sipdetect::campaign_config cfg_;
    reference_time_rules time_;
    std::map<source_key, source> sources_;
    std::map<fingerprint, group> groups_;
    std::vector<fingerprint> active_;
    std::vector<fingerprint> dirty_;
    sipdetect::record_time last_sweep_ = sipdetect::record_time::min();
    std::uint64_t next_id_ = 1;
    mutable sipdetect::campaign_stats stats_;
};
