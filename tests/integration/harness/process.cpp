#include "harness/process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include <fmt/format.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "harness/cleanup.h"
#include "harness/util.h"

extern char** environ;

namespace egressd::testing {
namespace {

std::string resolve_executable(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    return name;
  }
  // NOLINTNEXTLINE(concurrency-mt-unsafe): nothing in the tests modifies the environment
  const char* path_env = std::getenv("PATH");
  std::string path = path_env != nullptr ? path_env : "/usr/sbin:/usr/bin:/sbin:/bin";
  // Root's PATH may lack the sbin directories where ip, nft and conntrack live.
  path += ":/usr/local/sbin:/usr/sbin:/sbin";
  size_t start = 0;
  while (start <= path.size()) {
    const size_t end = std::min(path.find(':', start), path.size());
    const std::string candidate = path.substr(start, end - start) + "/" + name;
    if (end > start && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  throw HarnessError(fmt::format("executable '{}' not found on PATH", name));
}

UniqueFd open_netns(const std::string& netns) {
  if (netns.empty()) {
    return {};
  }
  const std::string path = "/run/netns/" + netns;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    throw_errno("opening network namespace " + path);
  }
  return fd;
}

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Pipe make_pipe() {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
    throw_errno("pipe2");
  }
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Forks and execs. Between fork and exec the child only makes system calls (the parent has
// threads). An exec failure is reported back through a close-on-exec pipe.
pid_t spawn(const std::vector<std::string>& argv, const std::string& netns, int stdin_fd,
            int stdout_fd, int stderr_fd) {
  if (argv.empty()) {
    throw HarnessError("spawn: empty argv");
  }
  const std::string path = resolve_executable(argv[0]);
  std::vector<char*> cargv;
  cargv.reserve(argv.size() + 1);
  for (const auto& a : argv) {
    cargv.push_back(const_cast<char*>(a.c_str()));  // NOLINT: execve's historical signature
  }
  cargv.push_back(nullptr);
  const UniqueFd ns_fd = open_netns(netns);
  Pipe exec_error = make_pipe();
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) {
    throw_errno("fork");
  }
  if (pid == 0) {
    int err = 0;
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) {
      ::_exit(127);
    }
    const bool ready = (!ns_fd.valid() || ::setns(ns_fd.get(), CLONE_NEWNET) == 0) &&
                       ::dup2(stdin_fd, 0) >= 0 && ::dup2(stdout_fd, 1) >= 0 &&
                       ::dup2(stderr_fd, 2) >= 0;
    if (ready) {
      sigset_t none;
      sigemptyset(&none);
      // The forked child has a single thread, where sigprocmask is well defined.
      ::sigprocmask(SIG_SETMASK, &none, nullptr);  // NOLINT(concurrency-mt-unsafe)
      ::execve(path.c_str(), cargv.data(), environ);
    }
    err = errno;
    (void)!::write(exec_error.write.get(), &err, sizeof err);
    ::_exit(127);
  }
  cleanup::register_pid(pid);
  exec_error.write.reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(exec_error.read.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n == sizeof child_errno) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    cleanup::unregister_pid(pid);
    errno = child_errno;
    throw_errno(fmt::format("starting {}{}", path, netns.empty() ? "" : " in netns " + netns));
  }
  return pid;
}

int exit_code_of(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string join(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) {
      s += ' ';
    }
    s += a.empty() ? "''" : a;
  }
  return s;
}

}  // namespace

std::string RunResult::describe() const {
  const std::string how = timed_out ? "timed out" : fmt::format("exited {}", exit_code);
  return fmt::format("`{}` {}: {}{}", join(argv), how, err, err.empty() ? out : "");
}

RunResult run(const std::vector<std::string>& argv, const RunOptions& opts) {
  cleanup::install();
  Pipe in = make_pipe();
  Pipe out = make_pipe();
  Pipe err = make_pipe();
  const pid_t pid = spawn(argv, opts.netns, in.read.get(), out.write.get(), err.write.get());
  in.read.reset();
  out.write.reset();
  err.write.reset();
  ::fcntl(in.write.get(), F_SETFL, O_NONBLOCK);

  RunResult result;
  result.argv = argv;
  if (!argv.empty() && !opts.netns.empty()) {
    result.argv.insert(result.argv.begin(), "[netns " + opts.netns + "]");
  }
  size_t written = 0;
  if (opts.input.empty()) {
    in.write.reset();
  }
  const auto deadline = Clock::now() + opts.timeout;
  std::array<char, 16384> buf{};
  while (out.read.valid() || err.read.valid()) {
    std::array<pollfd, 3> pfds{};
    nfds_t n = 0;
    const auto add = [&](const UniqueFd& fd, short events) {
      if (fd.valid()) {
        pfds[n++] = pollfd{fd.get(), events, 0};
      }
    };
    add(out.read, POLLIN);
    add(err.read, POLLIN);
    add(in.write, POLLOUT);
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    const int r = ::poll(pfds.data(), n, static_cast<int>(left));
    if (r < 0 && errno != EINTR) {
      ::kill(pid, SIGKILL);
      throw_errno("poll");
    }
    for (nfds_t i = 0; i < n; ++i) {
      if (pfds[i].revents == 0) {
        continue;
      }
      if (pfds[i].fd == in.write.get()) {
        const ssize_t w =
            ::write(in.write.get(), opts.input.data() + written, opts.input.size() - written);
        if (w > 0) {
          written += static_cast<size_t>(w);
        }
        if ((w < 0 && errno != EAGAIN) || written == opts.input.size()) {
          in.write.reset();
        }
        continue;
      }
      UniqueFd& src = pfds[i].fd == out.read.get() ? out.read : err.read;
      std::string& dst = pfds[i].fd == out.read.get() ? result.out : result.err;
      const ssize_t r2 = ::read(src.get(), buf.data(), buf.size());
      if (r2 > 0) {
        dst.append(buf.data(), static_cast<size_t>(r2));
      } else if (r2 == 0 || errno != EINTR) {
        src.reset();
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  cleanup::unregister_pid(pid);
  result.exit_code = result.timed_out ? -1 : exit_code_of(status);
  return result;
}

std::string run_checked(const std::vector<std::string>& argv, const RunOptions& opts) {
  RunResult r = run(argv, opts);
  if (!r.ok()) {
    throw HarnessError(r.describe());
  }
  return std::move(r.out);
}

ChildProcess ChildProcess::start(const std::vector<std::string>& argv, const std::string& netns,
                                 const std::filesystem::path& log_path) {
  cleanup::install();
  const UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!devnull.valid() || !log.valid()) {
    throw_errno("opening " + log_path.string());
  }
  return ChildProcess(spawn(argv, netns, devnull.get(), log.get(), log.get()));
}

ChildProcess::ChildProcess(ChildProcess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), reaped_(o.reaped_), wait_status_(o.wait_status_) {}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, &wait_status_, 0) < 0 && errno == EINTR) {
    }
    cleanup::unregister_pid(pid_);
  }
}

bool ChildProcess::exited() {
  if (pid_ <= 0 || reaped_) {
    return true;
  }
  const pid_t r = ::waitpid(pid_, &wait_status_, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    cleanup::unregister_pid(pid_);
  }
  return reaped_;
}

std::string ChildProcess::status_text() const {
  if (!reaped_) {
    return "running";
  }
  if (WIFEXITED(wait_status_)) {
    return fmt::format("exit {}", WEXITSTATUS(wait_status_));
  }
  const int sig = WTERMSIG(wait_status_);
  return fmt::format("signal {} (SIG{})", sig, sigabbrev_np(sig));
}

ChildProcess::StopResult ChildProcess::stop(std::chrono::milliseconds grace) {
  StopResult result;
  const auto start = Clock::now();
  if (!exited()) {
    result.was_running = true;
    ::kill(pid_, SIGTERM);
    result.exited_within_grace = poll_until([&] { return exited(); }, grace, 10ms);
    if (!result.exited_within_grace) {
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, &wait_status_, 0) < 0 && errno == EINTR) {
      }
      reaped_ = true;
      cleanup::unregister_pid(pid_);
    }
  } else {
    result.exited_within_grace = true;
  }
  result.took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  result.exit_code = exit_code_of(wait_status_);
  return result;
}

}  // namespace egressd::testing
