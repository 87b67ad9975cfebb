import { Inject, Injectable } from '@nestjs/common';
import { AuditReport, EnvelopeAuditFacts, EnvelopePattern, WalletAuditFacts, WalletPattern } from '@hongbao/contracts';
import { RpcClient } from '@hongbao/rpc';
import { LEDGER_CONFIG, LedgerConfig } from '../config';
import { LedgerService } from '../ledger/ledger.service';
import { evaluateAudit } from './evaluate-audit';

export const WALLET_CLIENT = Symbol('WALLET_CLIENT');
export const ENVELOPE_CLIENT = Symbol('ENVELOPE_CLIENT');

/**
 * Reconciliation across the three money-holding services. Reads the ledger first, then the
 * wallet, then envelopes (downstream before upstream; see evaluateAudit). A violation must
 * persist over AUDIT_ATTEMPTS reads before it is reported, so a credit caught mid-flight
 * between two reads is not mistaken for lost money.
 */
@Injectable()
export class AuditService {
  constructor(
    private readonly ledger: LedgerService,
    @Inject(WALLET_CLIENT) private readonly wallet: RpcClient,
    @Inject(ENVELOPE_CLIENT) private readonly envelope: RpcClient,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  async run(): Promise<AuditReport> {
    let report: AuditReport | undefined;
    for (let attempt = 1; attempt <= this.config.AUDIT_ATTEMPTS; attempt++) {
      const ledgerFacts = await this.ledger.facts();
      const walletFacts = await this.wallet.send<WalletAuditFacts>(WalletPattern.AuditFacts, {});
      const envelopeFacts = await this.envelope.send<EnvelopeAuditFacts>(EnvelopePattern.AuditFacts, {});
      report = evaluateAudit(ledgerFacts, walletFacts, envelopeFacts);
      if (report.ok) return report;
      await new Promise((r) => setTimeout(r, this.config.AUDIT_RECHECK_MS));
    }
    return report!;
  }
}
