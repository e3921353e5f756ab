// TrayApp: the tray indicator. It owns the QSystemTrayIcon and its menu and keeps both equal to
// the latest SwarmView: the icon (tray_icon.h), the tooltip, one row per machine, one per run in
// progress, the checkable "Share this machine's idle cores" (ShareControl) and Quit.
//
// Qt picks the tray protocol once per process, when the first icon is made: StatusNotifierItem
// over D-Bus when a watcher with a host is registered, XEmbed otherwise. A desktop whose SNI host
// starts after the tray (a panel restart, login order) would never see it, so TrayApp watches the
// session bus and, when a StatusNotifierWatcher with a host appears, runs itself again (execv,
// the same arguments but --share as the person last chose) to choose afresh.
//
// Lives on the GUI thread; not thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include <QAction>
#include <QElapsedTimer>
#include <QMenu>
#include <QObject>
#include <QStringList>
#include <QSystemTrayIcon>

#include "tray/share_control.h"
#include "tray/swarm_view.h"

namespace specswarm::tray {

struct TrayOptions {
  bool verbose = false;  // log each change, the protocol, and the menu's rows on screen
  bool watch_sni = true;  // re-exec when an SNI watcher appears (off for --status and --render)
};

class TrayApp : public QObject {
  Q_OBJECT
 public:
  // `share` may be null (a fixed view: --status): the toggle then only shows the state.
  TrayApp(TrayOptions options, ShareControl* share, QObject* parent = nullptr);

  // Shows the tray icon (once a tray exists: Qt waits for one itself on XEmbed).
  void Show();
  void SetView(const SwarmView& view);
  QMenu& menu() { return menu_; }
  // The menu as text, one row per line, "[x] " / "[ ] " before checkable rows: the tests'
  // and --render's view of it.
  QStringList MenuText() const;
  // Called before the tray runs itself again (to stop its status feed's children).
  void SetBeforeRestart(std::function<void()> fn) { before_restart_ = std::move(fn); }

 Q_SIGNALS:
  // The person toggled sharing: ask for a fresh status.
  void ShareToggled();

 private:
  void BuildMenu();
  void SetRows(std::vector<QAction*>& rows, QAction* before, const std::vector<std::string>& lines);
  void OnShareTriggered(bool checked);
  void WatchForStatusNotifierHost();
  void LogMenuGeometry();
  void RunAgain();

  TrayOptions options_;
  ShareControl* share_;
  QSystemTrayIcon icon_;
  QMenu menu_;
  QAction* summary_ = nullptr;
  QAction* machines_end_ = nullptr;  // separators closing each section
  QAction* runs_end_ = nullptr;
  QAction* share_action_ = nullptr;
  QAction* problem_ = nullptr;
  std::vector<QAction*> machine_rows_, run_rows_;
  SwarmView view_;
  bool have_view_ = false;
  QString share_problem_;
  // After a toggle, the state asked for, until a status agrees or kPendingMs pass: the checkbox
  // does not flip back while `join` starts or stops.
  std::optional<bool> pending_share_;
  std::optional<bool> share_choice_;  // the person's last toggle, kept across a restart for SNI
  bool on_sni_ = false;
  std::function<void()> before_restart_;               // Qt made a StatusNotifierItem (else XEmbed)
  QElapsedTimer pending_since_;
};

}  // namespace specswarm::tray
