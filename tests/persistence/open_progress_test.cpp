// open_progress: the /readyz lines while the storage opens (the step, then each partition not
// caught up), cancel, and watching a backend's status only while it is watched.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "hibiki/persistence/open_progress.hpp"
#include "hibiki/persistence/storage.hpp"
#include "temp_dir.hpp"

using namespace hibiki::persistence;
using hibiki::testkit::temp_dir;

namespace {

partition_status partition(std::int32_t p, std::string state, std::int64_t indexed,
                           std::int64_t end) {
  partition_status out;
  out.partition = p;
  out.state = std::move(state);
  out.indexed_offset = indexed;
  out.end_offset = end;
  out.lag = indexed >= 0 && end >= 0 ? std::max<std::int64_t>(0, end - indexed) : -1;
  return out;
}

}  // namespace

TEST_CASE("the opening lines list each partition not caught up", "[persistence][readyz]") {
  journal_status st;
  st.partitions = {partition(0, "ready", 10, 10),       partition(1, "catching_up", 1200, 5000),
                   partition(2, "following", 7, 7),     partition(3, "following", 5, 90),
                   partition(4, "catching_up", -1, -1), partition(5, "recovering", 3, -1),
                   partition(6, "following", 4, -1),    partition(7, "", 0, 1)};
  CHECK(opening_partition_lines(st, 16) ==
        std::vector<std::string>{"opening the journal: partition 1 catching up 1200/5000",
                                 "opening the journal: partition 3 following 5/90",
                                 "opening the journal: partition 4 catching up ?/?",
                                 "opening the journal: partition 5 recovering 3/?",
                                 "opening the journal: partition 6 following 4/?",
                                 "opening the journal: partition 7 in an unknown state 0/1"});
  // Past the cap the rest are counted, not listed.
  CHECK(opening_partition_lines(st, 2) ==
        std::vector<std::string>{"opening the journal: partition 1 catching up 1200/5000",
                                 "opening the journal: partition 3 following 5/90",
                                 "opening the journal: 4 more partitions not caught up"});
  CHECK(opening_partition_lines(st, 5).back() ==
        "opening the journal: 1 more partition not caught up");
  // Caught up (or no partitions at all: the embedded journal): nothing to say.
  journal_status done;
  done.partitions = {partition(0, "ready", 3, 3), partition(1, "following", 9, 9)};
  CHECK(opening_partition_lines(done, 16).empty());
  CHECK(opening_partition_lines(journal_status{}, 16).empty());
}

TEST_CASE("open_progress says the step, or the watched partitions while they catch up",
          "[persistence][readyz]") {
  open_progress progress;
  CHECK(progress.pending() == std::vector<std::string>{"opening the journal"});
  progress.set_step("opening the journal: connecting to kafka topic t at b");
  CHECK(progress.pending() ==
        std::vector<std::string>{"opening the journal: connecting to kafka topic t at b"});

  journal_status st;
  st.partitions = {partition(0, "catching_up", 1, 4), partition(1, "ready", 2, 2)};
  int asked = 0;
  progress.set_step("opening the journal: fencing and catching up 2 partitions of t");
  progress.watch([&] {
    ++asked;
    return st;
  });
  CHECK(progress.pending() ==
        std::vector<std::string>{"opening the journal: partition 0 catching up 1/4"});
  CHECK(asked == 1);
  // Every partition caught up but the open not over: the step again.
  st.partitions[0] = partition(0, "ready", 4, 4);
  CHECK(progress.pending() ==
        std::vector<std::string>{"opening the journal: fencing and catching up 2 partitions of t"});
  progress.unwatch();
  progress.set_step("starting the node");
  CHECK(progress.pending() == std::vector<std::string>{"starting the node"});
  CHECK(asked == 2);  // not asked once unwatched

  CHECK_FALSE(progress.cancelled());
  progress.cancel();
  progress.cancel();
  CHECK(progress.cancelled());
}

TEST_CASE("open_backend gives up when the open is cancelled", "[persistence]") {
  temp_dir dir;
  // A data dir that cannot be made (its parent is a file), even by root.
  const auto blocker = dir.path() / "a-file";
  std::ofstream(blocker) << "x";
  storage_options options;
  options.data_dir = (blocker / "data").string();
  options.progress = std::make_shared<open_progress>();
  options.progress->cancel();
  auto opened = open_backend(options);
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code == hibiki::errc::unavailable);
  CHECK(opened.error().message == "opening cancelled");

  // The same options without the cancel do reach the storage (and fail on that directory).
  options.progress = std::make_shared<open_progress>();
  opened = open_backend(options);
  REQUIRE_FALSE(opened);
  CHECK(opened.error().message.find(options.data_dir) != std::string::npos);
  CHECK(options.progress->pending() ==
        std::vector<std::string>{"opening the journal: opening " + options.data_dir});
}
