// The capped fingerprint set that counts a requester's targets, hosts, users
// and From URIs: exact until its limit, the same whether its members are
// kept inline or on the heap.
#include "catch.hpp"

#include <sipdetect/detail/hash.hpp>

#include <cstdint>
#include <map>
#include <random>
#include <utility>
#include <vector>

using sipdetect::detail::fingerprint_set;
using insert_result = fingerprint_set::insert_result;
using saved_members = std::vector<std::uint32_t>;

namespace {

std::map<std::uint32_t, std::uint32_t> members_of(const fingerprint_set& set) {
    std::map<std::uint32_t, std::uint32_t> out;
    set.for_each([&](std::uint32_t key, std::uint32_t flags) { out.emplace(key, flags); });
    return out;
}

} // namespace

TEST_CASE("a fingerprint set agrees with a map model across the inline and heap forms and at its limit") {
    for (const std::uint32_t limit : {1u, 3u, 4u, 5u, 8u, 300u}) {
        CAPTURE(limit);
        std::mt19937 rng(limit);
        fingerprint_set set;
        std::map<std::uint32_t, std::uint32_t> model;
        bool saturated = false;
        for (int step = 0; step < 2000; ++step) {
            // Few distinct keys, so repeats and flag updates are common.
            const std::uint32_t key = 1 + static_cast<std::uint32_t>(rng() % 400);
            if (rng() % 3 == 0) {
                const std::uint32_t flags = 1 + static_cast<std::uint32_t>(rng() % 3);
                const auto it = model.find(key);
                const std::uint32_t fresh = it == model.end() ? 0 : flags & ~it->second;
                if (it != model.end()) it->second |= flags;
                REQUIRE(set.set_flags(key, flags) == fresh);
            } else {
                insert_result expected = insert_result::present;
                if (model.count(key) == 0) {
                    if (model.size() >= limit) {
                        expected = insert_result::full;
                        saturated = true;
                    } else {
                        expected = insert_result::added;
                        model.emplace(key, 0);
                    }
                }
                REQUIRE(set.insert(key, limit) == expected);
            }
            REQUIRE(set.size() == model.size());
            REQUIRE(set.saturated() == saturated);
            REQUIRE(set.flags(key) == (model.count(key) ? model[key] : 0u));
        }
        REQUIRE(members_of(set) == model);
    }
}

TEST_CASE("a fingerprint set keeps up to inline_capacity members without heap memory") {
    fingerprint_set set;
    for (std::uint32_t key = 1; key <= fingerprint_set::inline_capacity; ++key) {
        REQUIRE(set.insert(key, 100) == insert_result::added);
        set.set_flags(key, key % 3);
    }
    REQUIRE(set.memory_bytes() == 0);
    REQUIRE(set.insert(fingerprint_set::inline_capacity + 1, 100) == insert_result::added);
    REQUIRE(set.memory_bytes() > 0);
    // Moving to the heap kept every member with its flags.
    const auto members = members_of(set);
    REQUIRE(members.size() == fingerprint_set::inline_capacity + 1);
    for (std::uint32_t key = 1; key <= fingerprint_set::inline_capacity; ++key) REQUIRE(members.at(key) == key % 3);
    REQUIRE(members.at(fingerprint_set::inline_capacity + 1) == 0);
}

TEST_CASE("a moved fingerprint set keeps its members, and the moved-from one is empty and usable") {
    for (const std::uint32_t count : {2u, 40u}) { // inline, heap
        CAPTURE(count);
        fingerprint_set set;
        for (std::uint32_t key = 1; key <= count; ++key) set.insert(key, count);
        set.insert(count + 1, count); // saturates
        fingerprint_set moved(std::move(set));
        REQUIRE(moved.size() == count);
        REQUIRE(moved.saturated());
        REQUIRE(members_of(moved).size() == count);
        REQUIRE(set.size() == 0); // NOLINT(bugprone-use-after-move): the state a move leaves is the point
        REQUIRE_FALSE(set.saturated());
        REQUIRE(members_of(set).empty());
        REQUIRE(set.insert(7, 10) == insert_result::added);
        REQUIRE(set.flags(7) == 0);
        fingerprint_set assigned;
        assigned = std::move(moved);
        REQUIRE(members_of(assigned).size() == count);
        REQUIRE(members_of(moved).empty()); // NOLINT(bugprone-use-after-move)
    }
}

TEST_CASE("restoring a fingerprint set rejects what a live set could not hold") {
    fingerprint_set set;
    REQUIRE(set.restore(saved_members{1u | 2u << fingerprint_set::flag_shift, 2u, 3u, 4u, 5u, 6u}, false, 10));
    REQUIRE(set.size() == 6);
    REQUIRE(set.flags(1) == 2);
    REQUIRE_FALSE(set.restore(saved_members{1u, 1u}, false, 10)); // duplicate
    REQUIRE_FALSE(set.restore(saved_members{0u}, false, 10));     // the empty slot's value
    REQUIRE_FALSE(set.restore(saved_members{1u, 2u, 3u}, false, 2)); // more than the limit
    REQUIRE(set.size() == 6);                        // a failed restore changes nothing
}
