#include "rdkafka_client.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstring>

#include "hibiki/core/log.hpp"

namespace hibiki::persistence::kafka {

void rd_kafka_conf_deleter::operator()(rd_kafka_conf_s* conf) const {
  rd_kafka_conf_destroy(conf);
}

int to_ms(millis d) {
  return d.count() < 0 ? 0 : d.count() > 0x7fffffff ? 0x7fffffff : static_cast<int>(d.count());
}

namespace {

/// librdkafka's own lines (syslog levels) into the app log as component "kafka", instead of its
/// default of printing them on stderr. Called from librdkafka's threads.
void on_rdkafka_log(const rd_kafka_t* rk, int level, const char* facility, const char* text) {
  const auto l = level <= 3   ? log::level::error  // emerg, alert, crit, err
                 : level == 4 ? log::level::warn
                 : level <= 6 ? log::level::info  // notice, info
                              : log::level::debug;
  if (!log::enabled(l)) return;
  log::line(l, "kafka") << (rk ? rd_kafka_name(rk) : "rdkafka") << " " << (facility ? facility : "")
                        << ": " << (text ? text : "");
}

}  // namespace

result<conf_ptr> make_conf(const connection& conn, const settings& own) {
  conf_ptr conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), &on_rdkafka_log);
  char errstr[512];
  auto set = [&](const std::string& k, const std::string& v) -> status {
    if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      return {errc::bad_request, "kafka property " + k + ": " + errstr};
    }
    return {};
  };
  if (auto s = set("bootstrap.servers", conn.brokers); !s) return s.error();
  for (const auto& [k, v] : own) {
    if (auto s = set(k, v); !s) return s.error();
  }
  for (const auto& [k, v] : conn.extra) {
    if (auto s = set(k, v); !s) return s.error();
  }
  return conf;
}

result<rd_kafka_ptr> make_client(client_kind kind, conf_ptr conf) {
  char errstr[512];
  const auto type = kind == client_kind::consumer ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER;
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), errstr, sizeof errstr);
  if (!rk) return error{errc::bad_request, std::string("cannot create kafka client: ") + errstr};
  conf.release();  // rd_kafka_new owns it now
  return rd_kafka_ptr(rk);
}

namespace {

txn_outcome outcome_of(rd_kafka_error_t* err) {
  txn_outcome out;
  if (!err) return out;
  const auto code = rd_kafka_error_code(err);
  out.message = rd_kafka_error_string(err);
  out.fenced = code == RD_KAFKA_RESP_ERR__FENCED || code == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
               code == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH;
  if (rd_kafka_error_is_fatal(err)) {
    out.what = txn_outcome::kind::fatal;
  } else if (rd_kafka_error_txn_requires_abort(err)) {
    out.what = txn_outcome::kind::abortable;
  } else if (rd_kafka_error_is_retriable(err)) {
    out.what = txn_outcome::kind::retriable;
  } else {
    out.what = txn_outcome::kind::fatal;
  }
  rd_kafka_error_destroy(err);
  return out;
}

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  if (auto* d = static_cast<delivery*>(m->_private)) {
    d->reported = true;
    d->error = m->err;
    d->offset = m->offset;
  }
}

/// The ends of `partitions` of `topic` (-1 for a partition that reported an error). A ListOffsets
/// for the "latest" timestamp, rather than rd_kafka_query_watermark_offsets, which in librdkafka
/// before 2.3.0 ignores its timeout while the broker is down (librdkafka #2588, fixed by #4460).
/// The client's isolation.level (read_committed by default) makes the end the last stable offset,
/// which is where a read_committed consumer reaches the end.
result<std::vector<std::int64_t>> query_ends(rd_kafka_t* rk, const std::string& topic,
                                             const std::vector<std::int32_t>& partitions,
                                             millis timeout) {
  std::unique_ptr<rd_kafka_topic_partition_list_t, decltype(&rd_kafka_topic_partition_list_destroy)>
      list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())),
           &rd_kafka_topic_partition_list_destroy);
  for (auto p : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = RD_KAFKA_OFFSET_END;
  }
  const auto err = rd_kafka_offsets_for_times(rk, list.get(), to_ms(timeout));
  if (err) {
    return error{errc::unavailable,
                 "cannot read the end of " + topic + ": " + rd_kafka_err2str(err)};
  }
  std::vector<std::int64_t> out(partitions.size(), -1);
  for (int i = 0; i < list->cnt; ++i) {
    const auto& tp = list->elems[i];
    for (std::size_t k = 0; k < partitions.size(); ++k) {
      if (partitions[k] == tp.partition && !tp.err && tp.offset >= 0) out[k] = tp.offset;
    }
  }
  return out;
}

result<std::int64_t> query_end(rd_kafka_t* rk, const std::string& topic, std::int32_t partition,
                               millis timeout) {
  auto ends = query_ends(rk, topic, {partition}, timeout);
  if (!ends) return ends.error();
  if ((*ends)[0] < 0) {
    return error{errc::unavailable,
                 "cannot read the end of " + topic + "/" + std::to_string(partition)};
  }
  return (*ends)[0];
}

}  // namespace

void rd_kafka_deleter::operator()(rd_kafka_s* rk) const {
  if (!rk) return;
  // rd_kafka_destroy waits for queued messages; give them a moment, then drop the rest.
  if (rd_kafka_outq_len(rk) > 0) {
    rd_kafka_flush(rk, 1000);
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rk, 0);
  }
  rd_kafka_destroy(rk);
}

// ---- admin_client ------------------------------------------------------------------------------

result<std::unique_ptr<admin_client>> admin_client::create(const connection& conn,
                                                           const settings& own) {
  // A metadata lookup of a missing topic must not make the broker create it with its own
  // defaults (one partition): the backend creates the journal topic itself.
  settings all = {{"allow.auto.create.topics", "false"}};
  all.insert(all.end(), own.begin(), own.end());
  auto conf = make_conf(conn, all);
  if (!conf) return conf.error();
  auto rk = make_client(client_kind::producer, std::move(*conf));
  if (!rk) return rk.error();
  return std::unique_ptr<admin_client>(new admin_client(std::move(*rk)));
}

result<std::unique_ptr<admin_client>> admin_client::create_high_watermark(const connection& conn) {
  // A consumer handle, since isolation.level is a consumer property. It never joins a group nor
  // fetches: it only sends ListOffsets.
  auto conf = make_conf(conn, {{"allow.auto.create.topics", "false"},
                               {"group.id", "hibiki-barrier"},
                               {"isolation.level", "read_uncommitted"},
                               {"enable.auto.commit", "false"}});
  if (!conf) return conf.error();
  auto rk = make_client(client_kind::consumer, std::move(*conf));
  if (!rk) return rk.error();
  return std::unique_ptr<admin_client>(new admin_client(std::move(*rk)));
}

status admin_client::create_topic(const std::string& topic, std::int32_t partitions,
                                  std::int16_t replication_factor, const settings& topic_config,
                                  millis timeout) {
  char errstr[512];
  std::unique_ptr<rd_kafka_NewTopic_t, decltype(&rd_kafka_NewTopic_destroy)> nt(
      rd_kafka_NewTopic_new(topic.c_str(), partitions, replication_factor, errstr, sizeof errstr),
      &rd_kafka_NewTopic_destroy);
  if (!nt) return {errc::bad_request, "topic " + topic + ": " + errstr};
  for (const auto& [k, v] : topic_config) {
    if (rd_kafka_NewTopic_set_config(nt.get(), k.c_str(), v.c_str())) {
      return {errc::bad_request, "topic config " + k};
    }
  }
  std::unique_ptr<rd_kafka_AdminOptions_t, decltype(&rd_kafka_AdminOptions_destroy)> opts(
      rd_kafka_AdminOptions_new(rk_.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS),
      &rd_kafka_AdminOptions_destroy);
  rd_kafka_AdminOptions_set_request_timeout(opts.get(), to_ms(timeout), errstr, sizeof errstr);
  rd_kafka_AdminOptions_set_operation_timeout(opts.get(), to_ms(timeout), errstr, sizeof errstr);
  std::unique_ptr<rd_kafka_queue_t, decltype(&rd_kafka_queue_destroy)> queue(
      rd_kafka_queue_new(rk_.get()), &rd_kafka_queue_destroy);
  rd_kafka_NewTopic_t* topics[] = {nt.get()};
  rd_kafka_CreateTopics(rk_.get(), topics, 1, opts.get(), queue.get());
  // The result always arrives: librdkafka times the request out itself. The margin is for that.
  std::unique_ptr<rd_kafka_event_t, decltype(&rd_kafka_event_destroy)> ev(
      rd_kafka_queue_poll(queue.get(), to_ms(timeout) + 2000), &rd_kafka_event_destroy);
  if (!ev) return {errc::unavailable, "creating topic " + topic + " timed out"};
  if (rd_kafka_event_error(ev.get())) {
    return {errc::unavailable,
            "creating topic " + topic + ": " + rd_kafka_event_error_string(ev.get())};
  }
  const auto* res = rd_kafka_event_CreateTopics_result(ev.get());
  size_t n = 0;
  const auto** results = res ? rd_kafka_CreateTopics_result_topics(res, &n) : nullptr;
  for (size_t i = 0; i < n; ++i) {
    const auto err = rd_kafka_topic_result_error(results[i]);
    if (err && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      const char* why = rd_kafka_topic_result_error_string(results[i]);
      return {err == RD_KAFKA_RESP_ERR_INVALID_PARTITIONS ||
                      err == RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR ||
                      err == RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION ||
                      err == RD_KAFKA_RESP_ERR_INVALID_CONFIG
                  ? errc::bad_request
                  : errc::unavailable,
              "creating topic " + topic + ": " + (why ? why : rd_kafka_err2str(err))};
    }
  }
  return {};
}

result<std::int32_t> admin_client::partition_count(const std::string& topic, millis timeout) {
  std::unique_ptr<rd_kafka_topic_t, decltype(&rd_kafka_topic_destroy)> rkt(
      rd_kafka_topic_new(rk_.get(), topic.c_str(), nullptr), &rd_kafka_topic_destroy);
  if (!rkt) return error{errc::bad_request, "bad topic name " + topic};
  const rd_kafka_metadata_t* md = nullptr;
  const auto err = rd_kafka_metadata(rk_.get(), 0, rkt.get(), &md, to_ms(timeout));
  if (err) {
    return error{errc::unavailable,
                 "cannot read metadata of " + topic + ": " + rd_kafka_err2str(err)};
  }
  std::unique_ptr<const rd_kafka_metadata_t, decltype(&rd_kafka_metadata_destroy)> guard(
      md, &rd_kafka_metadata_destroy);
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    if (topic != t.topic) continue;
    if (t.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
      return error{errc::not_found, "no topic " + topic};
    }
    if (t.err) {
      return error{errc::unavailable, "metadata of " + topic + ": " + rd_kafka_err2str(t.err)};
    }
    if (t.partition_cnt <= 0) break;
    return std::int32_t{t.partition_cnt};
  }
  return error{errc::unavailable, "topic " + topic + " has no partitions yet"};
}

result<std::int64_t> admin_client::end_offset(const std::string& topic, std::int32_t partition,
                                              millis timeout) {
  return query_end(rk_.get(), topic, partition, timeout);
}

result<std::vector<std::int64_t>> admin_client::end_offsets(const std::string& topic,
                                                            std::int32_t partition_count,
                                                            millis timeout) {
  std::vector<std::int32_t> partitions;
  for (std::int32_t p = 0; p < partition_count; ++p) partitions.push_back(p);
  return query_ends(rk_.get(), topic, partitions, timeout);
}

result<std::vector<std::int64_t>> admin_client::end_offsets(
    const std::string& topic, const std::vector<std::int32_t>& partitions, millis timeout) {
  return query_ends(rk_.get(), topic, partitions, timeout);
}

// ---- txn_producer ------------------------------------------------------------------------------

result<std::unique_ptr<txn_producer>> txn_producer::create(const connection& conn,
                                                           const std::string& transactional_id,
                                                           std::size_t message_max_bytes,
                                                           millis linger) {
  auto conf = make_conf(conn, {{"transactional.id", transactional_id},
                               {"enable.idempotence", "true"},
                               {"acks", "all"},
                               {"linger.ms", std::to_string(linger.count())},
                               {"message.max.bytes", std::to_string(message_max_bytes)}});
  if (!conf) return conf.error();
  rd_kafka_conf_set_dr_msg_cb(conf->get(), &on_delivery);
  auto rk = make_client(client_kind::producer, std::move(*conf));
  if (!rk) return rk.error();
  return std::unique_ptr<txn_producer>(new txn_producer(std::move(*rk)));
}

txn_producer::~txn_producer() {
  rk_.reset();
}

txn_outcome txn_producer::init_transactions(millis timeout) {
  return outcome_of(rd_kafka_init_transactions(rk_.get(), to_ms(timeout)));
}

txn_outcome txn_producer::begin_transaction() {
  deliveries_.clear();
  return outcome_of(rd_kafka_begin_transaction(rk_.get()));
}

txn_outcome txn_producer::produce(const std::string& topic, std::int32_t partition,
                                  std::string_view key, std::string_view value) {
  auto& slot = deliveries_.emplace_back();
  const auto err = rd_kafka_producev(
      rk_.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
      RD_KAFKA_V_KEY(key.data(), key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(&slot), RD_KAFKA_V_END);
  if (!err) return {};
  deliveries_.pop_back();
  txn_outcome out;
  out.message = std::string("produce: ") + rd_kafka_err2str(err);
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    const auto fatal = rd_kafka_fatal_error(rk_.get(), buf, sizeof buf);
    out.what = txn_outcome::kind::fatal;
    out.fenced = fatal == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
                 fatal == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH ||
                 fatal == RD_KAFKA_RESP_ERR__FENCED;
    out.message += std::string(": ") + buf;
  } else {
    // Queue full, message too large, unknown partition: the transaction can still be aborted.
    out.what = txn_outcome::kind::abortable;
  }
  return out;
}

txn_outcome txn_producer::commit_transaction(millis timeout) {
  return outcome_of(rd_kafka_commit_transaction(rk_.get(), to_ms(timeout)));
}

txn_outcome txn_producer::abort_transaction(millis timeout) {
  return outcome_of(rd_kafka_abort_transaction(rk_.get(), to_ms(timeout)));
}

bool txn_producer::flush(millis timeout) {
  return rd_kafka_flush(rk_.get(), to_ms(timeout)) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

// ---- message -----------------------------------------------------------------------------------

message::~message() {
  if (m_) rd_kafka_message_destroy(m_);
}

int message::error() const {
  return m_->err;
}
bool message::is_partition_eof() const {
  return m_->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
}
std::string message::error_text() const {
  return rd_kafka_message_errstr(m_);
}
std::int64_t message::offset() const {
  return m_->offset;
}
std::int32_t message::partition() const {
  return m_->partition;
}
std::string_view message::key() const {
  return m_->key ? std::string_view(static_cast<const char*>(m_->key), m_->key_len)
                 : std::string_view();
}
std::string_view message::value() const {
  return m_->payload ? std::string_view(static_cast<const char*>(m_->payload), m_->len)
                     : std::string_view();
}

// ---- partition_reader --------------------------------------------------------------------------

result<std::unique_ptr<partition_reader>> partition_reader::create(const connection& conn,
                                                                   const std::string& topic,
                                                                   std::int32_t partition,
                                                                   std::int64_t offset) {
  // librdkafka 2.0 needs a group.id even for a bare assign(). This one never joins a group (no
  // subscribe) and never commits an offset: the stored offset lives in the local index.
  auto conf =
      make_conf(conn, {{"group.id", "hibiki-index-" + topic + "-" + std::to_string(partition)},
                       {"isolation.level", "read_committed"},
                       {"enable.partition.eof", "true"},
                       {"enable.auto.commit", "false"},
                       {"enable.auto.offset.store", "false"},
                       {"auto.offset.reset", "error"}});
  if (!conf) return conf.error();
  auto rk = make_client(client_kind::consumer, std::move(*conf));
  if (!rk) return rk.error();
  std::unique_ptr<rd_kafka_topic_partition_list_t, decltype(&rd_kafka_topic_partition_list_destroy)>
      list(rd_kafka_topic_partition_list_new(1), &rd_kafka_topic_partition_list_destroy);
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = offset;
  if (const auto err = rd_kafka_assign(rk->get(), list.get())) {
    return error{errc::unavailable,
                 std::string("cannot assign partition: ") + rd_kafka_err2str(err)};
  }
  return std::unique_ptr<partition_reader>(new partition_reader(std::move(*rk), topic, partition));
}

partition_reader::~partition_reader() {
  if (rk_) rd_kafka_assign(rk_.get(), nullptr);
}

std::optional<message> partition_reader::poll(millis timeout) {
  if (auto* m = rd_kafka_consumer_poll(rk_.get(), to_ms(timeout)))
    return std::optional<message>(std::in_place, m);
  return std::nullopt;
}

result<std::int64_t> partition_reader::end_offset(millis timeout) {
  return query_end(rk_.get(), topic_, partition_, timeout);
}

namespace {

/// The partitions of `topic` in `list`, sorted and unique.
std::vector<std::int32_t> partitions_of(const rd_kafka_topic_partition_list_t* list,
                                        const std::string& topic) {
  std::vector<std::int32_t> out;
  for (int i = 0; list && i < list->cnt; ++i) {
    if (topic == list->elems[i].topic) out.push_back(list->elems[i].partition);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

result<std::vector<kafka_group_member>> admin_client::describe_group(const std::string& group,
                                                                     const std::string& topic,
                                                                     millis timeout) {
  rd_kafka_t* rk = rk_.get();
  char errstr[512];
  std::unique_ptr<rd_kafka_AdminOptions_t, decltype(&rd_kafka_AdminOptions_destroy)> opts(
      rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS),
      &rd_kafka_AdminOptions_destroy);
  if (rd_kafka_AdminOptions_set_request_timeout(opts.get(), std::max(1, to_ms(timeout)), errstr,
                                                sizeof errstr)) {
    return error{errc::bad_request, std::string("describe timeout: ") + errstr};
  }
  std::unique_ptr<rd_kafka_queue_t, decltype(&rd_kafka_queue_destroy)> queue(
      rd_kafka_queue_new(rk), &rd_kafka_queue_destroy);
  const char* groups[] = {group.c_str()};
  rd_kafka_DescribeConsumerGroups(rk, groups, 1, opts.get(), queue.get());
  // librdkafka times the request out itself; the margin covers its timer's granularity.
  std::unique_ptr<rd_kafka_event_t, decltype(&rd_kafka_event_destroy)> ev(
      rd_kafka_queue_poll(queue.get(), to_ms(timeout + millis(1000))), &rd_kafka_event_destroy);
  if (!ev) return error{errc::unavailable, "describing group " + group + " timed out"};
  if (rd_kafka_event_error(ev.get())) {
    return error{errc::unavailable,
                 "describing group " + group + ": " + rd_kafka_event_error_string(ev.get())};
  }
  const auto* res = rd_kafka_event_DescribeConsumerGroups_result(ev.get());
  size_t n = 0;
  const auto** descs = res ? rd_kafka_DescribeConsumerGroups_result_groups(res, &n) : nullptr;
  std::vector<kafka_group_member> members;
  for (size_t i = 0; i < n; ++i) {
    const auto* d = descs[i];
    if (group != rd_kafka_ConsumerGroupDescription_group_id(d)) continue;
    if (const auto* e = rd_kafka_ConsumerGroupDescription_error(d)) {
      return error{errc::unavailable,
                   "describing group " + group + ": " + rd_kafka_error_string(e)};
    }
    const auto count = rd_kafka_ConsumerGroupDescription_member_count(d);
    for (size_t k = 0; k < count; ++k) {
      const auto* m = rd_kafka_ConsumerGroupDescription_member(d, k);
      kafka_group_member out;
      auto str = [](const char* s) { return s ? std::string(s) : std::string(); };
      out.member_id = str(rd_kafka_MemberDescription_consumer_id(m));
      out.client_id = str(rd_kafka_MemberDescription_client_id(m));
      out.host = str(rd_kafka_MemberDescription_host(m));
      if (const auto* a = rd_kafka_MemberDescription_assignment(m)) {
        out.partitions = partitions_of(rd_kafka_MemberAssignment_partitions(a), topic);
      }
      members.push_back(std::move(out));
    }
    return members;
  }
  return error{errc::unavailable, "describing group " + group + ": no answer for the group"};
}

// ---- assigned_consumer -------------------------------------------------------------------------

namespace {

using partition_list = std::unique_ptr<rd_kafka_topic_partition_list_t,
                                       decltype(&rd_kafka_topic_partition_list_destroy)>;

partition_list one_partition(const std::string& topic, std::int32_t partition,
                             std::int64_t offset) {
  partition_list list(rd_kafka_topic_partition_list_new(1), &rd_kafka_topic_partition_list_destroy);
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = offset;
  return list;
}

status from_error(rd_kafka_error_t* err) {
  if (!err) return {};
  std::string why = rd_kafka_error_string(err);
  rd_kafka_error_destroy(err);
  return {errc::unavailable, why};
}

}  // namespace

result<std::unique_ptr<assigned_consumer>> assigned_consumer::create(const connection& conn,
                                                                     const settings& own) {
  auto conf = make_conf(conn, own);
  if (!conf) return conf.error();
  auto rk = make_client(client_kind::consumer, std::move(*conf));
  if (!rk) return rk.error();
  return std::unique_ptr<assigned_consumer>(new assigned_consumer(std::move(*rk)));
}

assigned_consumer::~assigned_consumer() {
  if (rk_) rd_kafka_assign(rk_.get(), nullptr);
}

status assigned_consumer::assign(const std::string& topic, std::int32_t partition,
                                 std::int64_t offset) {
  auto list = one_partition(topic, partition, offset);
  return from_error(rd_kafka_incremental_assign(rk_.get(), list.get()));
}

status assigned_consumer::unassign(const std::string& topic, std::int32_t partition) {
  auto list = one_partition(topic, partition, RD_KAFKA_OFFSET_INVALID);
  return from_error(rd_kafka_incremental_unassign(rk_.get(), list.get()));
}

std::optional<message> assigned_consumer::poll(millis timeout) {
  if (auto* m = rd_kafka_consumer_poll(rk_.get(), to_ms(timeout)))
    return std::optional<message>(std::in_place, m);
  return std::nullopt;
}

// ---- offset_committer --------------------------------------------------------------------------

result<std::unique_ptr<offset_committer>> offset_committer::create(const connection& conn,
                                                                   const settings& own) {
  auto conf = make_conf(conn, own);
  if (!conf) return conf.error();
  auto rk = make_client(client_kind::consumer, std::move(*conf));
  if (!rk) return rk.error();
  return std::unique_ptr<offset_committer>(new offset_committer(std::move(*rk)));
}

result<std::map<std::int32_t, std::int64_t>> offset_committer::committed(
    const std::string& topic, const std::vector<std::int32_t>& partitions, millis timeout) {
  partition_list list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())),
                      &rd_kafka_topic_partition_list_destroy);
  for (auto p : partitions) rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
  if (auto err = rd_kafka_committed(rk_.get(), list.get(), to_ms(timeout)); err)
    return error{errc::unavailable,
                 std::string("reading committed offsets: ") + rd_kafka_err2str(err)};
  std::map<std::int32_t, std::int64_t> out;
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    if (e.err)
      return error{errc::unavailable, "reading the committed offset of " + topic + "/" +
                                          std::to_string(e.partition) + ": " +
                                          rd_kafka_err2str(e.err)};
    if (e.offset >= 0) out[e.partition] = e.offset;  // RD_KAFKA_OFFSET_INVALID: none committed
  }
  return out;
}

status offset_committer::commit(const std::string& topic,
                                const std::map<std::int32_t, std::int64_t>& offsets) {
  if (offsets.empty()) return {};
  partition_list list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())),
                      &rd_kafka_topic_partition_list_destroy);
  for (const auto& [p, offset] : offsets)
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = offset;
  if (auto err = rd_kafka_commit(rk_.get(), list.get(), 0); err)
    return {errc::unavailable, std::string("committing offsets: ") + rd_kafka_err2str(err)};
  for (int i = 0; i < list->cnt; ++i)
    if (list->elems[i].err)
      return {errc::unavailable, "committing the offset of " + topic + "/" +
                                     std::to_string(list->elems[i].partition) + ": " +
                                     rd_kafka_err2str(list->elems[i].err)};
  return {};
}

// ---- group_consumer ----------------------------------------------------------------------------

namespace {

void log_group_error(const std::string& name, const std::string& what) {
  log::warn("cluster") << "membership " << name << ": " << what;
}

/// Logs and destroys a librdkafka error object; true when there was one.
bool group_call_failed(rd_kafka_error_t* err, const std::string& name, const char* what) {
  if (!err) return false;
  log_group_error(name, std::string(what) + ": " + rd_kafka_error_string(err));
  rd_kafka_error_destroy(err);
  return true;
}

}  // namespace

struct group_consumer::callbacks {
  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    auto& self = *static_cast<group_consumer*>(opaque);
    const auto& name = self.log_name_;
    const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    group_rebalance change;
    change.partitions = partitions_of(partitions, self.topic_);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      // Nothing is read: start at the end and pause, so the consumer fetches no records.
      for (int i = 0; i < partitions->cnt; ++i) partitions->elems[i].offset = RD_KAFKA_OFFSET_END;
      if (cooperative) {
        if (group_call_failed(rd_kafka_incremental_assign(rk, partitions), name,
                              "incremental assign"))
          return;
      } else if (const auto e = rd_kafka_assign(rk, partitions)) {
        log_group_error(name, std::string("assign: ") + rd_kafka_err2str(e));
        return;
      }
      if (const auto e = rd_kafka_pause_partitions(rk, partitions))
        log_group_error(name, std::string("pause: ") + rd_kafka_err2str(e));
      change.assigned = true;
      change.incremental = cooperative;
      if (self.on_rebalance_) self.on_rebalance_(change);
      return;
    }
    // Revocation (orderly or lost), or an error: the handler hears of it before the partitions go
    // back to the group, which happens when this callback unassigns them.
    const bool orderly = err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS;
    if (!orderly) log_group_error(name, std::string("rebalance error: ") + rd_kafka_err2str(err));
    change.lost = !orderly || rd_kafka_assignment_lost(rk);
    change.incremental = cooperative && orderly;
    if (self.on_rebalance_) self.on_rebalance_(change);
    if (change.incremental) {
      group_call_failed(rd_kafka_incremental_unassign(rk, partitions), name,
                        "incremental unassign");
    } else if (const auto e = rd_kafka_assign(rk, nullptr)) {
      log_group_error(name, std::string("unassign: ") + rd_kafka_err2str(e));
    }
  }
};

result<std::unique_ptr<group_consumer>> group_consumer::create(const connection& conn,
                                                               const settings& own,
                                                               const std::string& topic,
                                                               std::string log_name,
                                                               rebalance_handler on_rebalance) {
  std::unique_ptr<group_consumer> self(
      new group_consumer(topic, std::move(log_name), std::move(on_rebalance)));
  auto conf = make_conf(conn, own);
  if (!conf) return conf.error();
  rd_kafka_conf_set_rebalance_cb(conf->get(), &callbacks::on_rebalance);
  rd_kafka_conf_set_opaque(conf->get(), self.get());
  auto rk = make_client(client_kind::consumer, std::move(*conf));
  if (!rk) return rk.error();
  self->rk_ = std::move(*rk);
  rd_kafka_poll_set_consumer(self->rk_.get());
  partition_list topics(rd_kafka_topic_partition_list_new(1),
                        &rd_kafka_topic_partition_list_destroy);
  rd_kafka_topic_partition_list_add(topics.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
  if (const auto err = rd_kafka_subscribe(self->rk_.get(), topics.get())) {
    return error{errc::unavailable,
                 "cannot subscribe to " + topic + ": " + std::string(rd_kafka_err2str(err))};
  }
  return self;
}

group_consumer::~group_consumer() = default;

void group_consumer::poll(millis timeout) {
  if (auto* m = rd_kafka_consumer_poll(rk_.get(), to_ms(timeout))) rd_kafka_message_destroy(m);
}

std::string group_consumer::close() {
  if (const auto err = rd_kafka_consumer_close(rk_.get())) return rd_kafka_err2str(err);
  return {};
}

}  // namespace hibiki::persistence::kafka
