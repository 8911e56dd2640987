#include "audience.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <set>

#include "entity_traits.hpp"
#include "hibiki/core/log.hpp"
#include "hibiki/core/read_model.hpp"
#include "hibiki/core/room.hpp"

namespace hibiki::actors {

namespace {

using read_model::table;

/// How long the audience read waits for the local index to catch up with the other nodes'
/// writes (the rooms and contacts of the account are written on their own shards). Past it the
/// push goes to whom the index knows by then.
constexpr std::chrono::milliseconds audience_barrier_timeout{2000};

hibiki::error storage_error(const hibiki::error& e) {
  return e.code == errc::ok ? hibiki::error{errc::internal, e.message} : e;
}

/// The accounts collected from the rooms' member lists; the last room to answer sends the push.
struct gathering {
  std::mutex mutex;
  std::set<account_id> recipients;
  std::size_t waiting = 0;
  push_msg push;
};

void finish(const std::shared_ptr<node_context>& ctx, gathering& g) {
  g.recipients.erase(account_id{});
  g.push.recipients.assign(g.recipients.begin(), g.recipients.end());
  caf::anon_send(ctx->hub, std::move(g.push));
}

}  // namespace

result<circle> read_circle(persistence::read_store& reads, account_id account) {
  circle out;
  auto from = read_model::be64(account.value);
  auto to = read_model::be64(account.value + 1);
  auto st = reads.scan(table::member_rooms, from, to, SIZE_MAX, false,
                       [&](std::string_view key, std::string_view) {
                         out.rooms.push_back(room_id{read_model::read_be64(key.substr(8))});
                         return true;
                       });
  if (!st) return storage_error(st.error());
  // Contacts (a row on each side) and requests the account was asked: keyed by it.
  for (auto tbl : {table::contacts, table::contact_requests}) {
    st = reads.scan(tbl, from, to, SIZE_MAX, false, [&](std::string_view key, std::string_view) {
      out.people.push_back(account_id{read_model::read_be64(key.substr(8))});
      return true;
    });
    if (!st) return storage_error(st.error());
  }
  // Requests the account made are keyed by the one asked: the whole table is read (it holds
  // only the requests still waiting, and renames are rare).
  const std::string lowest;  // a real empty key: RocksDB compares a null slice by asserting
  st = reads.scan(table::contact_requests, lowest, read_model::be64(UINT64_MAX), SIZE_MAX, false,
                  [&](std::string_view key, std::string_view) {
                    if (key.size() >= 16 && read_model::read_be64(key.substr(8)) == account.value)
                      out.people.push_back(account_id{read_model::read_be64(key)});
                    return true;
                  });
  if (!st) return storage_error(st.error());
  return out;
}

void send_to_audience(const std::shared_ptr<node_context>& ctx, push_msg push) {
  const auto account = push.audience_of;
  ctx->deps.io->post([ctx, account, push = std::move(push)]() mutable {
    if (auto* control = ctx->deps.shard_control) {
      auto st = control->await_indexed({}, audience_barrier_timeout);
      if (!st)
        log::warn("node") << "rename of account " << account.value
                          << ": the index is behind, pushing to whom it knows: "
                          << st.error().message;
    }
    auto g = std::make_shared<gathering>();
    g->recipients.insert(account);
    circle known;
    try {
      auto read = read_circle(*ctx->deps.reads, account);
      if (read)
        known = std::move(*read);
      else
        log::warn("node") << "rename of account " << account.value
                          << ": its rooms and contacts could not be read: " << read.error().message;
    } catch (const std::exception& ex) {
      log::warn("node") << "rename of account " << account.value << ": " << ex.what();
    }
    g->recipients.insert(known.people.begin(), known.people.end());
    g->push = std::move(push);
    if (known.rooms.empty()) return finish(ctx, *g);
    // The room entities hold the member lists (the read side has no room → members index).
    g->waiting = known.rooms.size();
    for (auto room : known.rooms) {
      reply_fn reply = [ctx, g](command_reply r) {
        std::lock_guard lock(g->mutex);
        if (!r.err && r.fields.contains("members") && r.fields["members"].is_array())
          for (const auto& m : r.fields["members"])
            g->recipients.insert(account_id{m.value("account_id", std::uint64_t{0})});
        if (--g->waiting == 0) finish(ctx, *g);
      };
      caf::anon_send(ctx->rooms,
                     entity_command<room::command>{entity_of(room), room::get_members{account},
                                                   std::move(reply)});
    }
  });
}

}  // namespace hibiki::actors
