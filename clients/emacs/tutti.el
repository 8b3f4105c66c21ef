;;; tutti.el --- Live-code in a tutti session from Emacs  -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "27.1"))
;; Keywords: multimedia, tools
;; URL: docs/editors.md in the tutti source tree

;;; Commentary:

;; A client of tuttid's WebSocket protocol (docs/protocol.md) for Emacs:
;; a buffer shared live with the other performers of a session, evaluation
;; of the block at point, the region or the buffer, evaluation errors
;; marked where they are, annotations (the tokens sounding now) lit up, and
;; hush.
;;
;;   M-x tutti-connect      join a session and open one of its documents
;;   C-c C-c  tutti-eval-block     C-c C-r  tutti-eval-region
;;   C-c C-b  tutti-eval-buffer    C-c C-h  tutti-hush (C-u: un-hush)
;;   C-c C-q  tutti-disconnect
;;
;; Emacs has no WebSocket client without extra packages, so the connection
;; is the `tutti attach' subprocess (clients/cli/attach.c): one JSON line
;; per message on its stdout, one per message on its stdin; it also holds
;; the token and reconnects.  Everything else is here.
;;
;; Design (the numbers are invariants):
;;
;;  1. Positions on the wire count UTF-16 code units; Emacs positions count
;;     characters.  A character above U+FFFF is two units.  Conversions
;;     happen only at the edge: `tutti--advance' (units -> position) and
;;     `tutti--units' (text -> units).
;;  2. The OT client is the protocol's (and tests/lib/otclient.py's): at
;;     most one op in flight (`tutti--out'), later local edits composed into
;;     `tutti--buf'; a remote op is transformed over both, the remote op
;;     first at a tie; revision `tutti--rev' is the server's revision the
;;     buffer is based on.
;;  3. `tutti--shadow' is the buffer's text as the OT client knows it; a
;;     local change is found as the difference from it (after-change), so
;;     no change is lost whatever the command that made it.
;;  4. An evaluation is sent only when the buffer has nothing unacknowledged
;;     (it waits in `tutti--evals' otherwise), so the text the server
;;     evaluates at `tutti--rev' is the text in the buffer.
;;  5. Annotations are shown on arrival (plus `tutti-annotation-delay'
;;     seconds), for their duration clamped to 0.1 .. 4 s, as the web
;;     client does; their ranges are moved from their revision to the
;;     buffer's through the ops kept in `tutti--history'.

;;; Code:

(require 'cl-lib)
(require 'json)
(require 'subr-x)

(defgroup tutti nil
  "Collaborative live coding with a tutti server."
  :group 'multimedia
  :prefix "tutti-")

(defcustom tutti-program "tutti"
  "The `tutti' command (its `attach' subcommand carries the connection)."
  :type 'string)

(defcustom tutti-server "http://127.0.0.1:8080"
  "The tutti server's URL."
  :type 'string)

(defcustom tutti-token (getenv "TUTTI_TOKEN")
  "A performer's or owner's token for the session, or nil to listen only."
  :type '(choice (const nil) string))

(defcustom tutti-name (user-login-name)
  "The name the others see beside your edits."
  :type 'string)

(defcustom tutti-annotation-delay 0
  "Seconds between an annotation's arrival and its highlight.
Annotations arrive when the server renders their sound; set this to your
listening latency (about 0.35 for the live.ogg stream) to see them when
you hear them."
  :type 'number)

(defcustom tutti-timeout 10
  "Seconds to wait for the server's reply while connecting."
  :type 'number)

(defface tutti-annotation-face '((t :inherit highlight))
  "Face of a token while it sounds.")

(defface tutti-error-face '((t :underline (:style wave :color "red")))
  "Face of the place an evaluation error names.")

(defvar tutti-eval-result-functions nil
  "Called with each eval.result message (an alist) for this buffer's evals.")

(defvar tutti-last-eval-result nil
  "The last eval.result message received (an alist).")

;;;; Per-buffer state

(defvar-local tutti--proc nil "The `tutti attach' process of this buffer.")
(defvar-local tutti--doc nil "The document's id.")
(defvar-local tutti--rev 0 "The server revision the buffer is based on.")
(defvar-local tutti--out nil "The op sent and not yet acknowledged.")
(defvar-local tutti--out-seq nil "Its seq.")
(defvar-local tutti--buf nil "Local edits made while `tutti--out' waits.")
(defvar-local tutti--seq 0 "The last seq used.")
(defvar-local tutti--shadow "" "The text as the OT client knows it (invariant 3).")
(defvar-local tutti--applying nil "Non-nil while a remote op changes the buffer.")
(defvar-local tutti--history nil "Recent server ops, newest first: (REV . OP).")
(defvar-local tutti--evals nil "Eval messages waiting for the buffer to be in sync.")
(defvar-local tutti--recovery nil "After a reconnect: plist of :own-rev, :lost.")
(defvar-local tutti--error-overlays nil "Overlays marking evaluation errors.")

(defconst tutti--history-max 500
  "Server ops kept to move annotation ranges to the buffer's revision.")

;;;; JSON

(defun tutti--json-read (line)
  "LINE parsed: objects as alists, arrays as lists, false and null as nil."
  (if (and (fboundp 'json-available-p) (json-available-p))
      (json-parse-string line :object-type 'alist :array-type 'list
                         :null-object nil :false-object nil)
    (let ((json-object-type 'alist) (json-array-type 'list)
          (json-key-type 'symbol) (json-false nil) (json-null nil))
      (json-read-from-string line))))

(defun tutti--json-write (obj)
  "OBJ (alists, vectors for arrays) as one line of JSON."
  (if (and (fboundp 'json-available-p) (json-available-p))
      (json-serialize obj)
    (json-encode obj)))

(defun tutti--false ()
  "JSON false, for the encoder in use."
  (if (and (fboundp 'json-available-p) (json-available-p)) :false :json-false))

(defun tutti--get (msg &rest keys)
  "The value of MSG at the path KEYS."
  (dolist (k keys msg)
    (setq msg (cdr (assq k msg)))))

;;;; UTF-16 units (invariant 1)

(defconst tutti--astral "[\U00010000-\U0010FFFF]"
  "A character that takes two UTF-16 code units.")

(defun tutti--units (s)
  "The length of string S in UTF-16 code units."
  (/ (length (encode-coding-string s 'utf-16le t)) 2))

(defun tutti--split (s n)
  "The index in S of its first N UTF-16 units."
  (let ((i 0) (u 0))
    (while (< u n)
      (setq u (+ u (if (> (aref s i) #xFFFF) 2 1))
            i (1+ i)))
    i))

(defun tutti--advance (pos n)
  "The position N UTF-16 units after POS in the current buffer."
  (save-excursion
    (goto-char pos)
    (while (> n 0)
      (let ((next (save-excursion
                    (and (re-search-forward tutti--astral nil t) (match-beginning 0)))))
        (if (or (null next) (<= n (- next (point))))
            (progn (goto-char (min (point-max) (+ (point) n))) (setq n 0))
          (setq n (- n (- next (point)) 2))
          (goto-char (1+ next)))))
    (point)))

(defun tutti--pos (u)
  "The buffer position of UTF-16 offset U."
  (save-restriction (widen) (tutti--advance (point-min) u)))

(defun tutti--offset (pos)
  "The UTF-16 offset of buffer position POS."
  (save-restriction
    (widen)
    (tutti--units (buffer-substring-no-properties (point-min) pos))))

;;;; Operations: lists of integers (retain n / delete -n) and strings

(defun tutti--norm (op)
  "OP in canonical form (no empty parts, merged, insert before delete)."
  (let (out)
    (dolist (c op)
      (cond
       ((and (stringp c) (string-empty-p c)))
       ((and (integerp c) (zerop c)))
       ((stringp c)
        (cond
         ((stringp (car out)) (setcar out (concat (car out) c)))
         ((and (integerp (car out)) (< (car out) 0))
          (let ((d (pop out)))
            (if (stringp (car out))
                (setcar out (concat (car out) c))
              (push c out))
            (push d out)))
         (t (push c out))))
       ((and (integerp (car out)) (eq (> (car out) 0) (> c 0)))
        (setcar out (+ (car out) c)))
       (t (push c out))))
    (nreverse out)))

(defun tutti--transform (a b)
  "Transform ops A and B, made on the same text: (A' . B').
A's inserts go first at a tie."
  (let (ap bp (x (pop a)) (y (pop b)))
    (while (or x y)
      (cond
       ((stringp x)
        (push x ap) (push (tutti--units x) bp) (setq x (pop a)))
       ((stringp y)
        (push (tutti--units y) ap) (push y bp) (setq y (pop b)))
       ((or (null x) (null y))
        (error "tutti: ops of different lengths"))
       (t
        (let (m)
          (cond
           ((and (> x 0) (> y 0))
            (setq m (min x y)) (push m ap) (push m bp))
           ((and (< x 0) (< y 0)) (setq m (min (- x) (- y))))
           ((< x 0) (setq m (min (- x) y)) (push (- m) ap))
           (t (setq m (min x (- y))) (push (- m) bp)))
          (setq x (if (> x 0) (- x m) (+ x m))
                y (if (> y 0) (- y m) (+ y m)))
          (when (zerop x) (setq x (pop a)))
          (when (zerop y) (setq y (pop b)))))))
    (cons (tutti--norm (nreverse ap)) (tutti--norm (nreverse bp)))))

(defun tutti--compose (a b)
  "One op with the effect of op A, then op B."
  (let (out (x (pop a)) (y (pop b)))
    (while (or x y)
      (cond
       ((and (integerp x) (< x 0)) (push x out) (setq x (pop a)))
       ((stringp y) (push y out) (setq y (pop b)))
       ((or (null x) (null y)) (error "tutti: compose of ops of different lengths"))
       ((stringp x)
        (let* ((n (tutti--units x))
               (m (min n (abs y)))
               (k (tutti--split x m)))
          (when (> y 0) (push (substring x 0 k) out))
          (setq x (if (< k (length x)) (substring x k) (pop a))
                y (if (> y 0) (- y m) (+ y m)))))
       (t
        (let ((m (min x (abs y))))
          (push (if (> y 0) m (- m)) out)
          (setq x (- x m)
                y (if (> y 0) (- y m) (+ y m)))
          (when (zerop x) (setq x (pop a))))))
      (when (and (integerp y) (zerop y)) (setq y (pop b))))
    (tutti--norm (nreverse out))))

(defun tutti--move-index (u op)
  "UTF-16 offset U moved through OP (an insert at U pushes it right)."
  (let ((i 0) (nu u))
    (while (and op (<= i u))
      (let ((c (pop op)))
        (cond ((stringp c) (setq nu (+ nu (tutti--units c))))
              ((> c 0) (setq i (+ i c)))
              (t (when (< i u) (setq nu (- nu (min (- c) (- u i)))))
                 (setq i (- i c))))))
    nu))

(defun tutti--apply-to-buffer (op)
  "Apply OP to the buffer without treating it as a local edit."
  (let ((tutti--applying t) (inhibit-read-only t) (pos (point-min)))
    (save-excursion
      (save-restriction
        (widen)
        (dolist (c op)
          (cond ((stringp c) (goto-char pos) (insert c) (setq pos (point)))
                ((> c 0) (setq pos (tutti--advance pos c)))
                (t (delete-region pos (tutti--advance pos (- c))))))
        (setq tutti--shadow (buffer-substring-no-properties (point-min) (point-max)))))))

;;;; The connection

(defun tutti--send (proc msg)
  "Send MSG (an alist) through PROC's stdin as one line."
  (when (process-live-p proc)
    (process-send-string proc (concat (tutti--json-write msg) "\n"))))

(defun tutti--next-id (proc)
  "A fresh request id on PROC."
  (let ((n (1+ (or (process-get proc 'tutti-id) 0))))
    (process-put proc 'tutti-id n)
    (format "el-%d" n)))

(defun tutti--call (proc msg callback)
  "Send MSG with a fresh id; CALLBACK gets the reply carrying it."
  (let ((id (tutti--next-id proc)))
    (puthash id callback (process-get proc 'tutti-pending))
    (tutti--send proc (cons (cons 'id id) msg))))

(defun tutti--wait (proc pred what)
  "Wait for PRED to be non-nil (messages of PROC being handled meanwhile).
Signal an error naming WHAT after `tutti-timeout' seconds."
  (let ((end (+ (float-time) tutti-timeout)))
    (while (and (not (funcall pred)) (< (float-time) end) (process-live-p proc))
      (accept-process-output proc 0.05))
    (or (funcall pred)
        (error "tutti: no answer to %s within %s s%s" what tutti-timeout
               (if (process-live-p proc) "" " (tutti attach exited: see *tutti-stderr*)")))))

(defun tutti--call-sync (proc msg what)
  "Send MSG and return its reply; signal the server's error, if any."
  (let (reply)
    (tutti--call proc msg (lambda (m) (setq reply m)))
    (tutti--wait proc (lambda () reply) what)
    (when (equal (tutti--get reply 'type) "error")
      (error "tutti: %s: %s" what (tutti--get reply 'error 'message)))
    reply))

(defun tutti--filter (proc string)
  "Split PROC's output STRING into lines and handle each message."
  (let ((data (concat (or (process-get proc 'tutti-partial) "") string))
        (start 0) nl)
    (while (setq nl (cl-position ?\n data :start start))
      (let ((line (substring data start nl)))
        (setq start (1+ nl))
        (unless (string-empty-p line)
          (condition-case err
              (tutti--dispatch proc (tutti--json-read line))
            (error (message "tutti: %s" (error-message-string err)))))))
    (process-put proc 'tutti-partial (substring data start))))

(defun tutti--sentinel (proc event)
  "PROC's `tutti attach' ended (EVENT)."
  (unless (process-live-p proc)
    (message "tutti: the connection ended: %s" (string-trim event))
    (dolist (d (process-get proc 'tutti-docs))
      (when (buffer-live-p (cdr d))
        (with-current-buffer (cdr d) (setq tutti--proc nil))))))

(defun tutti--doc-buffer (proc doc)
  "The live buffer showing document DOC of PROC, or nil."
  (let ((b (cdr (assq doc (process-get proc 'tutti-docs)))))
    (and (buffer-live-p b) b)))

(defmacro tutti--in-doc (proc msg &rest body)
  "Run BODY in the buffer of MSG's document on PROC, if there is one."
  (declare (indent 2))
  `(let ((b (tutti--doc-buffer ,proc (tutti--get ,msg 'doc))))
     (when b (with-current-buffer b ,@body))))

(defun tutti--dispatch (proc msg)
  "Handle one message MSG from PROC."
  (let* ((id (tutti--get msg 'id))
         (pending (process-get proc 'tutti-pending))
         (cb (and (stringp id) (gethash id pending)))
         (type (tutti--get msg 'type)))
    (when cb (remhash id pending))
    (cond
     ((equal type "ack") (tutti--in-doc proc msg (tutti--on-ack msg)))
     ((equal type "ops")
      (tutti--in-doc proc msg
        (dolist (o (tutti--get msg 'ops))
          (tutti--on-remote (tutti--get o 'op) (tutti--get o 'rev)))))
     ((equal type "anno") (tutti--on-anno proc msg))
     ((and (equal type "error") (stringp id) (string-prefix-p "op-" id))
      (tutti--on-op-error proc msg))
     (cb (funcall cb msg))
     ((equal type "joined") (process-put proc 'tutti-joined msg))
     ((equal type "eval")
      (message "tutti: %s evaluated %s (lands at cycle %s)" (tutti--get msg 'name)
               (tutti--get msg 'what) (tutti--get msg 'landing 'cycle)))
     ((equal type "hush")
      (message "tutti: %s %s" (tutti--get msg 'name)
               (if (tutti--get msg 'on) "hushed" "un-hushed")))
     ((equal type "attach.lost")
      (message "tutti: connection lost (%s); reconnecting" (tutti--get msg 'message)))
     ((equal type "attach.reconnected") (tutti--reconnected proc))
     ((equal type "attach.error")
      (process-put proc 'tutti-last-error (tutti--get msg 'message))
      (message "tutti: %s" (tutti--get msg 'message)))
     ((equal type "error")
      (message "tutti: %s" (or (tutti--get msg 'error 'message) (tutti--get msg 'message)))))))

;;;; The OT client (invariant 2)

(defun tutti--send-out ()
  "Send `tutti--out' based on `tutti--rev'."
  (tutti--send tutti--proc
               `((type . "op") (id . ,(format "op-%d" tutti--out-seq)) (doc . ,tutti--doc)
                 (rev . ,tutti--rev) (op . ,(vconcat tutti--out)) (seq . ,tutti--out-seq))))

(defun tutti--local-edit (op)
  "A local edit OP: in flight, or composed into the buffer of edits."
  (cond (tutti--out (setq tutti--buf (if tutti--buf (tutti--compose tutti--buf op) op)))
        (t (setq tutti--out op tutti--out-seq (cl-incf tutti--seq))
           (tutti--send-out))))

(defun tutti--remember (rev op)
  "Keep server op OP at REV for moving annotation ranges."
  (push (cons rev op) tutti--history)
  (when (> (length tutti--history) tutti--history-max)
    (setcdr (nthcdr (1- tutti--history-max) tutti--history) nil)))

(defun tutti--acked (rev)
  "`tutti--out' was stored at REV: the next edits go out."
  (tutti--remember rev tutti--out)
  (setq tutti--rev rev tutti--out nil)
  (when tutti--buf
    (setq tutti--out tutti--buf tutti--buf nil tutti--out-seq (cl-incf tutti--seq))
    (tutti--send-out))
  (tutti--flush-evals))

(defun tutti--on-ack (msg)
  "The server stored our op (MSG is its ack)."
  (cond
   ((not tutti--out))
   (tutti--recovery                     ; placed by the doc.ops that follows
    (setq tutti--recovery (plist-put tutti--recovery :own-rev (tutti--get msg 'rev))))
   (t (tutti--acked (tutti--get msg 'rev)))))

(defun tutti--on-remote (op rev)
  "Another's OP, the server's revision REV: transform it over ours, apply it."
  (when tutti--out
    (let ((tr (tutti--transform op tutti--out)))
      (setq op (car tr) tutti--out (cdr tr))))
  (when tutti--buf
    (let ((tr (tutti--transform op tutti--buf)))
      (setq op (car tr) tutti--buf (cdr tr))))
  (tutti--remember rev op)
  (tutti--apply-to-buffer op)
  (setq tutti--rev rev))

(defun tutti--on-op-error (proc msg)
  "The server refused our op (MSG): recover, or start again from its text."
  (let ((code (tutti--get msg 'error 'code)))
    (dolist (d (process-get proc 'tutti-docs))
      (when (buffer-live-p (cdr d))
        (with-current-buffer (cdr d)
          (when (equal (tutti--get msg 'id) (format "op-%s" tutti--out-seq))
            (cond ((and tutti--recovery (equal code "not_open"))
                   (setq tutti--recovery (plist-put tutti--recovery :lost t)))
                  ((member code '("retry" "rate_limited"))
                   (let ((buf (current-buffer)))
                     (run-at-time 0.5 nil (lambda ()
                                            (when (buffer-live-p buf)
                                              (with-current-buffer buf
                                                (when tutti--out (tutti--send-out))))))))
                  (t (message "tutti: edit refused (%s): reloading %s"
                              (tutti--get msg 'error 'message) (buffer-name))
                     (tutti--reload)))))))))

(defun tutti--after-change (beg end old-len)
  "Make the change of BEG..END (OLD-LEN characters before) an op (invariant 3)."
  (when (and tutti--proc tutti--doc (not tutti--applying))
    ;; An error here would make Emacs drop the hook: report it, resync.
    (condition-case err
        (tutti--local-change beg end old-len)
      (error (message "tutti: %s: reloading" (error-message-string err))
             (tutti--reload)))))

(defun tutti--local-change (beg end old-len)
  "The op of the change BEG..END, OLD-LEN characters before, sent."
  (save-restriction
    (widen)
    (let* ((b (- beg (point-min)))
           (ins (buffer-substring-no-properties beg end))
           (total (tutti--units tutti--shadow))
           (ub (tutti--units (substring tutti--shadow 0 b)))
           (del (tutti--units (substring tutti--shadow b (+ b old-len))))
           (op (tutti--norm (list ub ins (- del) (- total ub del)))))
      (setq tutti--shadow (concat (substring tutti--shadow 0 b) ins
                                  (substring tutti--shadow (+ b old-len))))
      (cond ((/= (length tutti--shadow) (- (point-max) (point-min)))
             (message "tutti: lost track of the buffer's text: reloading")
             (tutti--reload))
            (op (tutti--local-edit op))))))

;;;; Reconnecting (docs/protocol.md, "Losing the connection")

(defun tutti--reconnected (proc)
  "After `tutti attach' joined again: resend, then reopen every document."
  (message "tutti: reconnected")
  (dolist (d (process-get proc 'tutti-docs))
    (when (buffer-live-p (cdr d))
      (with-current-buffer (cdr d)
        (setq tutti--recovery (list :own-rev nil :lost nil))
        (when tutti--out (tutti--send-out))
        (let ((buf (current-buffer)))
          (tutti--call proc `((type . "doc.open") (doc . ,tutti--doc) (rev . ,tutti--rev))
                       (lambda (m) (with-current-buffer buf (tutti--reopened m)))))))))

(defun tutti--reopened (msg)
  "The missed ops (MSG) after a reconnect, with our own op's ack in its place."
  (let ((own (plist-get tutti--recovery :own-rev))
        (lost (plist-get tutti--recovery :lost)))
    (setq tutti--recovery nil)
    (if (equal (tutti--get msg 'type) "doc.ops")
        (let ((rev (tutti--get msg 'from)))
          (dolist (op (tutti--get msg 'ops))
            (setq rev (1+ rev))
            (if (and own (= rev own) tutti--out)
                (tutti--acked rev)
              (tutti--on-remote op rev)))
          (when (and lost tutti--out) (tutti--send-out)))
      (message "tutti: too long away: %s reloaded, unsent edits dropped" (buffer-name))
      (tutti--snapshot msg))))

(defun tutti--snapshot (msg)
  "Replace the buffer's text with snapshot MSG; forget unsent edits."
  (setq tutti--out nil tutti--buf nil tutti--history nil tutti--evals nil
        tutti--rev (tutti--get msg 'rev))
  (let ((tutti--applying t) (inhibit-read-only t) (pt (point)))
    (save-restriction
      (widen)
      (erase-buffer)
      (insert (tutti--get msg 'text))
      (setq tutti--shadow (buffer-substring-no-properties (point-min) (point-max))))
    (goto-char (min pt (point-max)))))

(defun tutti-reload ()
  "Take the document's text from the server again (unsent edits are lost)."
  (interactive)
  (tutti--reload))

(defun tutti--reload ()
  "Reopen this buffer's document from its snapshot."
  (let ((buf (current-buffer)))
    (tutti--call tutti--proc `((type . "doc.open") (doc . ,tutti--doc))
                 (lambda (m) (with-current-buffer buf (tutti--snapshot m))))))

;;;; Annotations (invariant 5)

(defun tutti--map-range (rev from to)
  "FROM..TO (UTF-16, in server revision REV) moved to the buffer's text, or nil."
  (let ((ops (cl-loop for (r . op) in tutti--history while (> r rev) collect op)))
    (when (= (length ops) (- tutti--rev rev))
      (dolist (op (append (nreverse ops) (delq nil (list tutti--out tutti--buf))))
        (setq from (tutti--move-index from op) to (tutti--move-index to op)))
      (and (< from to) (cons from to)))))

(defun tutti--light (from to dur)
  "Highlight units FROM..TO for DUR seconds."
  (let* ((beg (tutti--pos from))
         (ov (make-overlay beg (tutti--advance beg (- to from)))))
    (overlay-put ov 'face 'tutti-annotation-face)
    (overlay-put ov 'tutti-annotation t)
    (overlay-put ov 'priority 10)
    (run-at-time (max 0.1 (min 4 (or dur 0.1))) nil #'delete-overlay ov)))

(defun tutti--on-anno (proc msg)
  "Highlight the events of annotation MSG in their documents' buffers."
  (dolist (ev (tutti--get msg 'events))
    (let ((b (tutti--doc-buffer proc (tutti--get ev 'doc))))
      (when b
        (with-current-buffer b
          (let ((r (tutti--map-range (tutti--get ev 'rev) (car (tutti--get ev 'range))
                                     (cadr (tutti--get ev 'range))))
                (dur (tutti--get ev 'dur)))
            (when r
              (if (> tutti-annotation-delay 0)
                  (run-at-time tutti-annotation-delay nil
                               (lambda () (when (buffer-live-p b)
                                            (with-current-buffer b
                                              (tutti--light (car r) (cdr r) dur)))))
                (tutti--light (car r) (cdr r) dur)))))))))

;;;; Evaluation

(defun tutti--flush-evals ()
  "Send the evaluations waiting for the buffer to be in sync (invariant 4)."
  (unless (or tutti--out tutti--buf)
    (let ((evals (reverse tutti--evals)) (buf (current-buffer)))
      (setq tutti--evals nil)
      (dolist (msg evals)
        (tutti--call tutti--proc (cons (cons 'rev tutti--rev) msg)
                     (lambda (m) (with-current-buffer buf (tutti--on-result m))))))))

(defun tutti--eval (fields)
  "Evaluate: an eval message of this document with FIELDS."
  (unless (process-live-p tutti--proc)
    (user-error "tutti: not connected (M-x tutti-connect)"))
  (push `((type . "eval") (doc . ,tutti--doc) ,@fields) tutti--evals)
  (tutti--flush-evals))

(defun tutti--clear-errors ()
  "Remove the marks of earlier evaluation errors."
  (mapc #'delete-overlay tutti--error-overlays)
  (setq tutti--error-overlays nil))

(defun tutti--mark-error (line col text)
  "Mark LINE, COL (1-based, in characters) with the error TEXT."
  (save-excursion
    (save-restriction
      (widen)
      (goto-char (point-min))
      (forward-line (1- line))
      (forward-char (min (max 0 (1- col)) (- (line-end-position) (point))))
      (let* ((beg (point))
             (end (progn (skip-syntax-forward "w_") (point)))
             (ov (make-overlay beg (if (> end beg) end (min (1+ beg) (point-max))))))
        (overlay-put ov 'face 'tutti-error-face)
        (overlay-put ov 'help-echo text)
        (overlay-put ov 'tutti-error text)
        (push ov tutti--error-overlays)))))

(defun tutti--on-result (msg)
  "Show eval.result MSG: where it lands, or its error."
  (setq tutti-last-eval-result msg)
  (tutti--clear-errors)
  (if (equal (tutti--get msg 'type) "error")
      (message "tutti: %s" (tutti--get msg 'error 'message))
    (if (tutti--get msg 'ok)
        (message "tutti: lands at cycle %s (frame %s)" (tutti--get msg 'landing 'cycle)
                 (tutti--get msg 'landing 'frame))
      (let ((line (tutti--get msg 'error 'line)) (col (tutti--get msg 'error 'col))
            (text (tutti--get msg 'error 'message)))
        (tutti--mark-error (or line 1) (or col 1) text)
        (message "tutti: %s:%s:%s: %s" (buffer-name) line col text))))
  (run-hook-with-args 'tutti-eval-result-functions msg))

(defun tutti-eval-block ()
  "Evaluate the block at point (the lines between blank lines)."
  (interactive)
  (tutti--eval `((at . ,(tutti--offset (point))))))

(defun tutti-eval-region (beg end)
  "Evaluate the code between BEG and END."
  (interactive "r")
  (tutti--eval `((range . ,(vector (tutti--offset beg) (tutti--offset end))))))

(defun tutti-eval-buffer ()
  "Evaluate the whole document."
  (interactive)
  (tutti--eval nil))

(defun tutti-hush (&optional off)
  "Silence the session; with a prefix argument OFF, let it sound again."
  (interactive "P")
  (unless (process-live-p tutti--proc)
    (user-error "tutti: not connected"))
  (tutti--send tutti--proc `((type . "hush") (on . ,(if off (tutti--false) t)))))

;;;; Connecting

(defvar tutti-mode-map
  (let ((m (make-sparse-keymap)))
    (define-key m (kbd "C-c C-c") #'tutti-eval-block)
    (define-key m (kbd "C-c C-r") #'tutti-eval-region)
    (define-key m (kbd "C-c C-b") #'tutti-eval-buffer)
    (define-key m (kbd "C-c C-h") #'tutti-hush)
    (define-key m (kbd "C-c C-q") #'tutti-disconnect)
    m)
  "Keys of buffers shared with a tutti session.")

(define-minor-mode tutti-mode
  "A buffer shared with a tutti session's document."
  :lighter " tutti"
  :keymap tutti-mode-map
  (if tutti-mode
      (add-hook 'after-change-functions #'tutti--after-change nil t)
    (remove-hook 'after-change-functions #'tutti--after-change t)))

(defun tutti--start (server session token)
  "A `tutti attach' process joined to SESSION on SERVER (reused when running)."
  (let ((key (list server session)))
    (or (cl-find-if (lambda (p) (and (process-live-p p) (equal (process-get p 'tutti-key) key)))
                    (process-list))
        (let* ((cmd (append (list tutti-program "attach" "--server" server "--session" session
                                  "--client" "emacs" "--name" tutti-name)
                            (and token (list "--token" token))))
               (proc (make-process :name "tutti" :command cmd :connection-type 'pipe
                                   :coding 'utf-8-unix :noquery t
                                   :stderr (get-buffer-create "*tutti-stderr*")
                                   :filter #'tutti--filter :sentinel #'tutti--sentinel)))
          (process-put proc 'tutti-key key)
          (process-put proc 'tutti-pending (make-hash-table :test 'equal))
          (condition-case err
              (tutti--wait proc (lambda () (process-get proc 'tutti-joined)) "join")
            (error (error "%s%s" (error-message-string err)
                          (let ((why (process-get proc 'tutti-last-error)))
                            (if why (format ": %s" why) "")))))
          proc))))

(defun tutti--find-doc (proc name)
  "The id of document NAME of PROC's session, created when missing."
  (let ((docs (tutti--get (tutti--call-sync proc '((type . "doc.list")) "doc.list") 'docs)))
    (or (tutti--get (cl-find name docs :key (lambda (d) (tutti--get d 'name)) :test #'equal) 'id)
        (tutti--get (tutti--call-sync proc `((type . "doc.create") (name . ,name)) "doc.create")
                    'doc 'id))))

;;;###autoload
(defun tutti-connect (server session doc &optional token)
  "Join SESSION on SERVER and open its document DOC in a shared buffer.
DOC is created when missing.  TOKEN is a performer's or owner's token.
Returns the buffer."
  (interactive
   (list (read-string "tutti server: " tutti-server)
         (read-string "Session id: ")
         (read-string "Document: " "main")
         (let ((tok (read-string "Token (empty: listen only): " tutti-token)))
           (and (not (string-empty-p tok)) tok))))
  (let* ((proc (tutti--start server session (or token tutti-token)))
         (id (tutti--find-doc proc doc))
         (buf (get-buffer-create (format "%s<tutti %s>" doc session)))
         opened)
    (with-current-buffer buf
      (unless (derived-mode-p 'js-mode) (js-mode))
      (setq tutti--proc proc tutti--doc id tutti--seq 0 tutti--recovery nil)
      (tutti-mode 1))
    (process-put proc 'tutti-docs (cons (cons id buf) (process-get proc 'tutti-docs)))
    ;; The snapshot is applied as it arrives, so the ops that follow it in
    ;; the same read find the buffer ready.
    (tutti--call proc `((type . "doc.open") (doc . ,id))
                 (lambda (m) (with-current-buffer buf
                               (if (equal (tutti--get m 'type) "doc.snapshot")
                                   (tutti--snapshot m)
                                 (setq tutti--proc nil))
                               (setq opened m))))
    (tutti--wait proc (lambda () opened) "doc.open")
    (unless (equal (tutti--get opened 'type) "doc.snapshot")
      (error "tutti: doc.open: %s" (tutti--get opened 'error 'message)))
    (when (called-interactively-p 'any) (pop-to-buffer-same-window buf))
    buf))

(defun tutti-disconnect ()
  "Leave the session of this buffer (the buffer stays, no longer shared)."
  (interactive)
  (when (process-live-p tutti--proc)
    (delete-process tutti--proc))
  (setq tutti--proc nil)
  (tutti-mode -1))

(defun tutti-idle-p ()
  "Non-nil when this buffer has no edit waiting for the server."
  (and (null tutti--out) (null tutti--buf) (null tutti--evals)))

(provide 'tutti)
;;; tutti.el ends here
