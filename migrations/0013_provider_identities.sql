CREATE TABLE `oauth_states` (
	`state_hash` text PRIMARY KEY NOT NULL,
	`realm` text NOT NULL,
	`provider` text NOT NULL,
	`browser_hash` text NOT NULL,
	`payload` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer
);
--> statement-breakpoint
CREATE INDEX `oauth_states_expires_idx` ON `oauth_states` (`expires_at`);--> statement-breakpoint
CREATE TABLE `provider_identities` (
	`id` text PRIMARY KEY NOT NULL,
	`realm` text NOT NULL,
	`user_id` text NOT NULL,
	`provider` text NOT NULL,
	`provider_user_id` text NOT NULL,
	`email` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `provider_identities_subject_unique` ON `provider_identities` (`realm`,`provider`,`provider_user_id`);--> statement-breakpoint
CREATE INDEX `provider_identities_user_idx` ON `provider_identities` (`user_id`);--> statement-breakpoint
CREATE TABLE `provider_sessions` (
	`realm` text NOT NULL,
	`user_id` text NOT NULL,
	`provider` text NOT NULL,
	`tokens_encrypted` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`user_id`, `provider`),
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `provider_sessions_created_idx` ON `provider_sessions` (`created_at`);