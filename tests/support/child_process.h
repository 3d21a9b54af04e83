// A real child process for tests: started with fork/exec in its own process group, its stdout and stderr read
// line by line on a background thread, killed (the whole group) and reaped when the object goes away, and killed
// by the kernel if the test process itself dies (PR_SET_PDEATHSIG), so no test leaves anything running.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace hotspotd::test {

class ChildProcess {
 public:
  // argv[0] is the program path. `env` entries ("KEY=value") are added to the test's own environment.
  explicit ChildProcess(std::vector<std::string> argv, std::vector<std::string> env = {}, std::string stdin_data = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Waits until a line of output contains `needle`; returns that line, or nothing on timeout or exit.
  std::optional<std::string> waitForLine(std::string_view needle, std::chrono::milliseconds timeout);
  // Counts the lines of output so far that contain `needle`.
  int countLines(std::string_view needle);
  // All output so far.
  std::string output();

  void signal(int signo);
  // Waits for exit and for the end of its output; returns the exit code (128 + signal number if killed by a
  // signal), or nothing on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);

  struct Result {
    int exit_code;
    std::string output;
  };
  // Runs a command to completion (killed after `timeout`), feeding it `stdin_data`.
  static Result run(std::vector<std::string> argv, std::string stdin_data = {},
                    std::chrono::milliseconds timeout = std::chrono::seconds(60));

 private:
  void readLoop(int fd);

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::thread reader_;
  std::thread writer_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
  std::string partial_;
  bool eof_ = false;
};

// The loopback port a hotspotd child reports in its "Listening" log line, once it does (nothing on timeout).
std::optional<int> waitForListeningPort(ChildProcess& process,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(20));

// Finds an executable on PATH (or in the usual sbin directories); empty if absent.
std::string findProgram(std::string_view name);

}  // namespace hotspotd::test
