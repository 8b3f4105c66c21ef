;;; emacs-test.el --- drives tutti.el as a user would, for tests/editors/emacs.py  -*- lexical-binding: t; -*-

;; Run by tests/editors/driver.py as
;;   emacs --batch -Q -l clients/emacs/tutti.el -l tests/editors/emacs-test.el
;; with TT_SERVER, TT_SESSION, TT_TOKEN, TT_TUTTI, TT_DIR and TT_SEED in the
;; environment.  It reports "T: WORD ..." lines on stderr (the driver's
;; docstring lists them) and never waits without a bound: a step that times
;; out reports what it has, and the driver's checks fail.

;;; Code:

(require 'tutti)

(defun tt-out (fmt &rest args)
  "Report one line (on stderr, which Emacs does not buffer)."
  (message "T: %s" (apply #'format fmt args)))

(defun tt-b64 (s)
  "S as base64 of its UTF-8."
  (base64-encode-string (encode-coding-string s 'utf-8 t) t))

(defun tt-wait (pred secs)
  "Handle messages until PRED holds or SECS pass; PRED's value."
  (let ((end (+ (float-time) secs)))
    (while (and (not (funcall pred)) (< (float-time) end))
      (accept-process-output nil 0.02))
    (funcall pred)))

(defun tt-exists (name)
  "Non-nil when the driver has written file NAME."
  (file-exists-p (expand-file-name name (getenv "TT_DIR"))))

(defconst tt-alphabet ["a" "b" " " "x" "\n" "(" ")" "." "é" "🥁" "🎶" "s(\"bd\")"])

(defun tt-random-edit ()
  "Insert or delete at a random place, as typing would."
  (let ((n (buffer-size)))
    (if (and (> n 0) (< (random 100) 35))
        (let ((p (1+ (random n))))
          (delete-region p (min (point-max) (+ p 1 (random 3)))))
      (goto-char (1+ (random (1+ n))))
      (insert (aref tt-alphabet (random (length tt-alphabet)))))))

(defun tt-eval-at-line (line)
  "Evaluate the block at LINE; the eval.result, or nil after 10 s."
  (goto-char (point-min))
  (forward-line (1- line))
  (setq tutti-last-eval-result nil)
  (tutti-eval-block)
  (tt-wait (lambda () tutti-last-eval-result) 10))

(defun tt-lit ()
  "The text under an annotation highlight, or nil."
  (cl-loop for ov in (overlays-in (point-min) (point-max))
           when (overlay-get ov 'tutti-annotation)
           return (buffer-substring-no-properties (overlay-start ov) (overlay-end ov))))

(defun tt-main ()
  "The script."
  (let* ((tutti-program (getenv "TT_TUTTI"))
         (tutti-name "emacs-ed")
         (peer-done (expand-file-name "peer-done" (getenv "TT_DIR")))
         (buf (tutti-connect (getenv "TT_SERVER") (getenv "TT_SESSION") "main"
                             (getenv "TT_TOKEN"))))
    (random (getenv "TT_SEED"))
    (with-current-buffer buf
      (tt-out "READY")
      (dotimes (_ 40)
        (tt-random-edit)
        (accept-process-output nil 0.02))
      (goto-char (point-min))
      (insert "🥁é:")
      (tt-out "EDITS-DONE")
      (when (tt-wait #'tutti-idle-p 20)
        (tt-out "IDLE"))
      (tt-wait (lambda () (file-exists-p peer-done)) 30)
      (let ((rev (string-to-number (with-temp-buffer
                                     (insert-file-contents peer-done) (buffer-string)))))
        (tt-wait (lambda () (and (tutti-idle-p) (>= tutti--rev rev))) 20))
      (tt-out "TEXT %s" (tt-b64 (buffer-string)))
      (tt-wait (lambda () (tt-exists "checked")) 30)
      ;; Typing while the server is down; tutti attach reconnects.
      (tt-wait (lambda () (tt-exists "down")) 30)
      (dotimes (_ 5)
        (tt-random-edit)
        (accept-process-output nil 0.02))
      (goto-char (point-min))
      (insert "OFFLINE🥁 ")
      (tt-out "OFFLINE-DONE")
      (tt-wait (lambda () (tt-exists "up")) 30)
      (tt-wait #'tutti-idle-p 40)
      (tt-out "TEXT2 %s" (tt-b64 (buffer-string)))
      (tt-wait (lambda () (tt-exists "checked2")) 30)
      ;; Evaluation: a block that compiles, then one that does not.
      (erase-buffer)
      (insert "s(\"bd sd\")\n\nnote(\"c3\")\n  .fsat(2)\n")
      (let ((r (tt-eval-at-line 1)))
        (tt-out "EVAL1 %s %s" (and r (tutti--get r 'ok) t) (tutti--get r 'landing 'cycle)))
      (let* ((r (tt-eval-at-line 3))
             (marked (cl-loop for ov in (overlays-in (point-min) (point-max))
                              when (overlay-get ov 'tutti-error)
                              return (buffer-substring-no-properties
                                      (overlay-start ov) (overlay-end ov)))))
        (tt-out "EVAL2 %s %s %s %s %s" (and r (tutti--get r 'ok) t)
                (tutti--get r 'error 'line) (tutti--get r 'error 'col)
                (tt-b64 (or (tutti--get r 'error 'message) ""))
                (tt-b64 (or marked ""))))
      (let ((lit (tt-wait #'tt-lit 20)))
        (when lit (tt-out "ANNO %s" (tt-b64 lit))))
      (tutti-hush)
      (tt-out "HUSHED")
      (tt-wait (lambda () nil) 0.5)
      (tutti-disconnect)
      (tt-out "DONE"))))

(condition-case err
    (tt-main)
  (error (tt-out "ERROR %s" (tt-b64 (error-message-string err)))
         (message "emacs-test: %s" (error-message-string err))
         (kill-emacs 1)))
(kill-emacs 0)

;;; emacs-test.el ends here
