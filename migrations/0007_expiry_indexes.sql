CREATE INDEX `pat_expires_idx` ON `personal_access_tokens` (`expires_at`);--> statement-breakpoint
CREATE INDEX `refresh_tokens_expires_idx` ON `refresh_tokens` (`expires_at`);--> statement-breakpoint
CREATE INDEX `tickets_expires_idx` ON `tickets` (`expires_at`);--> statement-breakpoint
CREATE INDEX `webauthn_challenges_expires_idx` ON `webauthn_challenges` (`expires_at`);