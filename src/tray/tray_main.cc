// specswarm-tray: the tray indicator behind `specswarm tray` (a separate binary so that the CLI
// and `join` never load Qt). See tray_app.h for what it shows, status_feed.h for where from.
//
//   specswarm tray [--port N] [--interval S] [--share] [-v] [-- JOIN_ARGS...]
//   specswarm tray --status FILE [--render DIR]   show (or render and exit) a given document
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <csignal>
#include <sys/socket.h>
#include <unistd.h>

#include <QApplication>
#include <QSocketNotifier>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStandardPaths>
#include <QSystemTrayIcon>

#include <CLI/CLI.hpp>

#include "tray/share_control.h"
#include "tray/status_feed.h"
#include "tray/tray_app.h"
#include "tray/tray_icon.h"

namespace {

using namespace specswarm::tray;

struct Options {
  int port = 7070;
  double interval = 0.5;
  bool share = false;
  bool verbose = false;
  std::string status_file, render_dir;
  std::vector<std::string> join_args;
};

// SIGTERM (logout, systemctl, kill), SIGINT and SIGHUP end the event loop like Quit does, so a
// `join` the tray started is stopped, not left behind: the handler only writes a byte.
int signal_pipe[2] = {-1, -1};
void OnSignal(int) {
  char byte = 1;
  (void)!write(signal_pipe[1], &byte, 1);
}
void QuitOnSignals(QApplication& qt) {
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, signal_pipe) != 0) return;
  auto* notifier = new QSocketNotifier(signal_pipe[0], QSocketNotifier::Read, &qt);
  QObject::connect(notifier, &QSocketNotifier::activated, &qt, [&qt] { qt.quit(); });
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaction(s, &action, nullptr);
}

int Fail(const std::string& line) {
  std::fprintf(stderr, "specswarm tray: %s\n", line.c_str());
  return 2;
}

// The CLI to ask: the one that started us (SPECSWARM_BIN, set by `specswarm tray`), the one
// beside us, or the one on PATH.
QString SpecswarmBinary() {
  QString set = qEnvironmentVariable("SPECSWARM_BIN");
  if (!set.isEmpty()) return set;
  QString beside = QCoreApplication::applicationDirPath() + "/specswarm";
  if (QFileInfo(beside).isExecutable()) return beside;
  QString found = QStandardPaths::findExecutable("specswarm");
  return found.isEmpty() ? "specswarm" : found;
}

bool WriteText(const QString& path, const QString& text) {
  QFile f(path);
  return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(text.toUtf8()) >= 0;
}

// --render: the icon at the sizes trays use, the tooltip and the menu, as files.
int Render(const SwarmView& view, TrayApp& app, const QString& dir) {
  if (!QDir().mkpath(dir)) return Fail("cannot create " + dir.toStdString());
  for (int size : {22, 64})
    if (!DrawTrayIcon(view, size).save(dir + QString("/icon-%1.png").arg(size)))
      return Fail("cannot write " + dir.toStdString() + "/icon-" + std::to_string(size) + ".png");
  if (!WriteText(dir + "/tooltip.txt", QString::fromStdString(view.Tooltip()) + "\n") ||
      !WriteText(dir + "/menu.txt", app.MenuText().join("\n") + "\n"))
    return Fail("cannot write into " + dir.toStdString());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Everything after `--` goes to `specswarm join` when the tray starts it itself.
  Options o;
  int own_argc = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--") {
      o.join_args.assign(argv + i + 1, argv + argc);
      own_argc = i;
      break;
    }
  }
  CLI::App cli{"specswarm tray: a tray icon showing the swarm's idle cores, and a switch to share this machine's",
               "specswarm tray"};
  cli.footer("After --: arguments for `specswarm join` when the tray starts it itself (no systemd unit).");
  cli.add_option("--port", o.port, "The local node's port (join --port, default 7070)")->check(CLI::Range(1, 65535));
  cli.add_option("--interval", o.interval, "Seconds between two status queries (default 0.5)")->check(CLI::Range(0.1, 60.0));
  cli.add_flag("--share", o.share, "Start sharing (join) when the tray starts, unless this machine already shares");
  cli.add_flag("-v,--verbose", o.verbose, "Log each change, the tray protocol and where the menu's rows are");
  cli.add_option("--status", o.status_file, "Show this `status --json` (or `discover --json`) document instead of asking");
  cli.add_option("--render", o.render_dir, "With --status: write icon PNGs, tooltip.txt and menu.txt into DIR, then exit");
  try {
    cli.parse(own_argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return cli.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "specswarm tray: %s (see specswarm tray --help)\n", e.what());
    return 2;
  }
  if (!o.render_dir.empty() && o.status_file.empty()) return Fail("--render needs --status FILE: the document to draw");

  std::optional<SwarmView> fixed;
  if (!o.status_file.empty()) {
    QFile f(QString::fromStdString(o.status_file));
    if (!f.open(QIODevice::ReadOnly)) return Fail("cannot read " + o.status_file + ": " + f.errorString().toStdString());
    auto view = ViewFromDocument(f.readAll().toStdString());
    if (!view.ok()) return Fail(o.status_file + ": " + view.status().message());
    fixed = *view;
  }

  QApplication qt(argc, argv);
  qt.setApplicationName("specswarm");
  qt.setQuitOnLastWindowClosed(false);  // closing the menu is not quitting
  QuitOnSignals(qt);

  const QString specswarm = SpecswarmBinary();
  std::unique_ptr<ShareControl> share;
  if (!fixed) {
    QStringList join_args;
    for (const auto& a : o.join_args) join_args << QString::fromStdString(a);
    share = std::make_unique<ShareControl>(specswarm, join_args);
  }
  TrayApp app({o.verbose, !fixed}, share.get());
  if (fixed) {
    app.SetView(*fixed);
    if (!o.render_dir.empty()) return Render(*fixed, app, QString::fromStdString(o.render_dir));
    app.Show();
    return qt.exec();
  }

  StatusFeed feed(specswarm, o.port, static_cast<int>(o.interval * 1000));
  QObject::connect(&feed, &StatusFeed::Updated, &app, &TrayApp::SetView);
  QObject::connect(&app, &TrayApp::ShareToggled, &feed, &StatusFeed::Refresh);
  app.SetBeforeRestart([&feed] { feed.StopAll(); });
  if (o.share) {
    // Share unless a join already answers: ask once, then decide.
    auto decided = std::make_shared<bool>(false);
    QObject::connect(&feed, &StatusFeed::Updated, &app, [&, decided](const SwarmView& view) {
      if (*decided) return;
      *decided = true;
      if (!view.sharing) share->Start();
    });
  }
  feed.Start();
  app.Show();
  int code = qt.exec();
  share->StopOwnJoin();
  return code;
}
