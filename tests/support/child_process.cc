#include "tests/support/child_process.h"

#include <regex>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

extern char** environ;

namespace hotspotd::test {

ChildProcess::ChildProcess(std::vector<std::string> argv, std::vector<std::string> env, std::string stdin_data) {
  int out_pipe[2];
  int in_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(in_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");

  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  for (auto& e : env) env_strings.push_back(std::move(e));
  std::vector<char*> c_argv, c_env;
  for (auto& a : argv) c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  for (auto& e : env_strings) c_env.push_back(e.data());
  c_env.push_back(nullptr);
  const pid_t parent = getpid();

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(in_pipe[0], STDIN_FILENO);
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(out_pipe[1], STDERR_FILENO);
    execve(c_argv[0], c_argv.data(), c_env.data());
    const char* msg = "exec failed\n";
    (void)!write(STDERR_FILENO, msg, std::strlen(msg));
    _exit(127);
  }
  setpgid(pid_, pid_);
  close(out_pipe[1]);
  close(in_pipe[0]);
  reader_ = std::thread([this, fd = out_pipe[0]] { readLoop(fd); });
  writer_ = std::thread([fd = in_pipe[1], data = std::move(stdin_data)] {
    std::size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    close(fd);
  });
}

ChildProcess::~ChildProcess() {
  if (!exit_code_) {
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);
    wait(std::chrono::seconds(10));
  }
  if (writer_.joinable()) writer_.join();
  if (reader_.joinable()) reader_.join();
}

void ChildProcess::readLoop(int fd) {
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard<std::mutex> lock(mutex_);
    if (n <= 0) {
      if (!partial_.empty()) lines_.push_back(std::move(partial_));
      eof_ = true;
      changed_.notify_all();
      break;
    }
    partial_.append(buf, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (std::size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
      lines_.push_back(partial_.substr(start, nl - start));
    }
    partial_.erase(0, start);
    changed_.notify_all();
  }
  close(fd);
}

std::optional<std::string> ChildProcess::waitForLine(std::string_view needle, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  std::size_t checked = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (; checked < lines_.size(); ++checked) {
      if (lines_[checked].find(needle) != std::string::npos) return lines_[checked];
    }
    if (eof_) return std::nullopt;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
      for (; checked < lines_.size(); ++checked) {
        if (lines_[checked].find(needle) != std::string::npos) return lines_[checked];
      }
      return std::nullopt;
    }
  }
}

int ChildProcess::countLines(std::string_view needle) {
  std::lock_guard<std::mutex> lock(mutex_);
  int count = 0;
  for (const auto& line : lines_) count += line.find(needle) != std::string::npos ? 1 : 0;
  return count;
}

std::string ChildProcess::output() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  for (const auto& line : lines_) out += line + "\n";
  return out + partial_;
}

void ChildProcess::signal(int signo) {
  if (!exit_code_) kill(pid_, signo);
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      // Anything the child left in its group goes with it; then its output is read to the end (bounded: a
      // process outside the group may still hold the pipe), so output() after wait() has all of it.
      kill(-pid_, SIGKILL);
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait_for(lock, std::chrono::seconds(5), [this] { return eof_; });
      return exit_code_;
    }
    if (r < 0 && errno != EINTR) return std::nullopt;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

ChildProcess::Result ChildProcess::run(std::vector<std::string> argv, std::string stdin_data,
                                       std::chrono::milliseconds timeout) {
  ChildProcess child(std::move(argv), {}, std::move(stdin_data));
  auto code = child.wait(timeout);
  if (!code) {
    child.signal(SIGKILL);
    code = child.wait(std::chrono::seconds(10));
  }
  if (child.reader_.joinable()) child.reader_.join();
  return Result{code.value_or(-1), child.output()};
}

std::string findProgram(std::string_view name) {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/sbin:/usr/local/sbin";
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = path.find(':', start);
    const std::string dir = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!dir.empty()) {
      const auto candidate = std::filesystem::path(dir) / name;
      if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return {};
}

std::optional<int> waitForListeningPort(ChildProcess& process, std::chrono::milliseconds timeout) {
  auto line = process.waitForLine("Listening", timeout);
  std::smatch m;
  if (!line || !std::regex_search(*line, m, std::regex("127\\.0\\.0\\.1:([0-9]+)"))) return std::nullopt;
  return std::stoi(m[1]);
}

}  // namespace hotspotd::test
