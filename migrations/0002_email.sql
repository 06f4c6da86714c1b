CREATE TABLE `dev_outbox` (
	`id` text PRIMARY KEY NOT NULL,
	`realm` text NOT NULL,
	`recipient` text NOT NULL,
	`subject` text NOT NULL,
	`text` text NOT NULL,
	`html` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `dev_outbox_created_idx` ON `dev_outbox` (`created_at`);--> statement-breakpoint
CREATE TABLE `email_templates` (
	`realm` text NOT NULL,
	`kind` text NOT NULL,
	`locale` text NOT NULL,
	`subject` text NOT NULL,
	`text` text NOT NULL,
	`html` text NOT NULL,
	PRIMARY KEY(`realm`, `kind`, `locale`)
);
--> statement-breakpoint
ALTER TABLE `tickets` ADD `payload` text;--> statement-breakpoint
ALTER TABLE `tickets` ADD `redirect_to` text;